"""The report of a large sweep: a bounded summary page and one page per further run, linking, not copying."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

from PIL import Image

from betavae.io import write_json
from betavae.paths import ProjectPaths
from betavae.report.build import build_report
from betavae.report.page import EMBEDDED_RUNS


def _rendered_sweep(root: Path, n_runs: int) -> list[str]:
    """`plots/tiny/` as the render stage leaves it for `n_runs` runs, each with two distinct pictures."""
    plots = ProjectPaths(root).plots("tiny")
    names = [f"beta_vae-beta={i}-seed=0" for i in range(n_runs)]
    runs = []
    for i, name in enumerate(names):
        folder = plots / "runs" / f"r{i}"
        folder.mkdir(parents=True)
        Image.new("L", (4, 3), i).save(folder / "traversal.png")
        Image.new("L", (5, 2), i).save(folder / "losses.png")
        runs.append(
            {"run": name, "pictures": {"traversal": f"runs/r{i}/traversal.png", "losses": f"runs/r{i}/losses.png"}}
        )
    comparison = [{"run": name, "run_id": f"id{i}", "status": "finished"} for i, name in enumerate(names)]
    write_json(plots / "index.json", {"experiment_id": "1", "comparison": comparison, "runs": runs, "sweep": {}})
    return names


def test_a_large_sweep_embeds_a_bounded_number_of_runs_and_links_a_page_for_each_other(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # only for the links; nothing is contacted
    names = _rendered_sweep(tmp_path, EMBEDDED_RUNS + 3)
    report = build_report(tmp_path, "tiny")
    index = report.read_text(encoding="utf-8")
    assert index.count('src="data:image/png;base64,') == 2 * EMBEDDED_RUNS
    runs_table = index.split('<table id="runs-table"', 1)[1].split("</table>", 1)[0]
    assert runs_table.count("<tr>") - 1 == len(names)  # every run is in the table (and one header row)
    linked = re.findall(r'<li><a href="([^"]+)">([^<]+)</a></li>', index)
    assert [name.replace("&#x3D;", "=") for _, name in linked] == names[EMBEDDED_RUNS:]
    for href, name in linked:
        page = report.parent / unquote(href)
        text = page.read_text(encoding="utf-8")
        assert "data:image" not in text and name in text  # linked, not copied
        sources = re.findall(r'<img src="([^"]+)"', text)
        assert len(sources) == 2
        for src in sources:
            assert (page.parent / unquote(src)).resolve().is_file()
        back = re.search(r'<a href="([^"]+)">back to the report</a>', text)
        assert back and (page.parent / unquote(back.group(1))).resolve() == report.resolve()


def test_a_smaller_report_leaves_no_pages_of_an_earlier_larger_one(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    _rendered_sweep(tmp_path / "big", EMBEDDED_RUNS + 2)
    big = build_report(tmp_path / "big", "tiny")
    assert len(list((big.parent / "runs").glob("*.html"))) == 2
    _rendered_sweep(tmp_path / "small", 2)
    (tmp_path / "small" / "reports").symlink_to(tmp_path / "big" / "reports", target_is_directory=True)
    small = build_report(tmp_path / "small", "tiny")
    index = small.read_text(encoding="utf-8")
    assert index.count('src="data:image/png;base64,') == 4 and 'id="run-pages"' not in index
    assert not (small.parent / "runs").exists()
