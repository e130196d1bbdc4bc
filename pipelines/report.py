"""`report` stage: the static HTML report of a dataset, `reports/<dataset>/index.html`.

    python -m pipelines.report dsprites        # what `dvc repro report@dsprites` runs

One self-contained file (pictures embedded, inline script, no network): the Fig. 5 (left) table, a
sortable comparison of every run, each run's pictures, the sweep plots, the data validation summary and
the lineage of the registered champion.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pipelines.common import ROOT, main_guard
from pipelines.dataset_arg import dataset_argument


def build_report(root: Path, dataset: str) -> Path:
    from betavae.errors import DataError
    from betavae.io import atomic_path, read_json
    from betavae.render.mlflow_log import experiment_url, run_url, ui_base
    from betavae.report.lineage import champion_lineage
    from betavae.report.page import ReportInputs, build_page
    from betavae.tracking.client import client_for, tracking_uri

    plots = root / "plots" / dataset
    index_path = plots / "index.json"
    if not index_path.is_file():
        raise DataError(f"no rendered pictures at {index_path}; run the render stage first (dvc repro render)")
    index = read_json(index_path)
    out = root / "reports" / dataset / "index.html"

    def optional_json(path: Path):
        return read_json(path) if path.is_file() else None

    validation_dir = root / "data" / "validation" / dataset
    docs = next(iter(sorted(validation_dir.rglob("index.html"))), None) if validation_dir.is_dir() else None
    base = ui_base(tracking_uri(root))
    links = {"experiment": experiment_url(base, index["experiment_id"])}
    links.update({r["run"]: run_url(base, index["experiment_id"], r["run_id"]) for r in index["comparison"]})
    registered = optional_json(root / "models" / dataset / "registered.json")
    lineage, lineage_error = None, None
    if registered:
        try:
            lineage = champion_lineage(client_for(root), registered)
        except DataError as exc:
            lineage_error = str(exc)
    inputs = ReportInputs(
        dataset=dataset, comparison=index["comparison"], columns=index.get("columns", ()),
        run_pictures={r["run"]: {k: plots / p for k, p in r["pictures"].items()} for r in index["runs"]},
        sweep_pictures={k: plots / p for k, p in index["sweep"].items()},
        table=optional_json(root / "metrics" / dataset / "table.json"),
        validation=optional_json(validation_dir / "summary.json"),
        validation_docs=os.path.relpath(docs, out.parent) if docs else None,
        lineage=lineage, lineage_error=lineage_error, links=links)
    with atomic_path(out) as tmp:
        tmp.write_text(build_page(inputs), encoding="utf-8")
    return out


def report(dataset: str) -> None:
    path = build_report(ROOT, dataset)
    print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size / 1e6:.1f} MB); open it in a browser")


def main() -> None:
    main_guard(report, dataset_argument(sys.argv))


if __name__ == "__main__":
    main()
