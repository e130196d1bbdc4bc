"""Gather a dataset's outputs into :class:`~betavae.report.page.ReportInputs` and write the report page.

It reads what the stages before it wrote: `plots/<dataset>/index.json` and its pictures (render), the
comparison table (evaluate), the data validation summary and Data Docs (validate), and the registered
champion (register), whose lineage comes from MLflow.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from betavae.errors import DataError
from betavae.io import atomic_path, read_json
from betavae.paths import ProjectPaths
from betavae.report.lineage import champion_lineage
from betavae.report.page import EMBEDDED_RUNS, ReportInputs, build_page, run_page
from betavae.tracking.client import client_for, tracking_uri
from betavae.tracking.runs_table import configuration_summary
from betavae.tracking.ui import experiment_url, run_url, ui_base


def _optional_json(path: Path) -> Any:
    return read_json(path) if path.is_file() else None


def write_run_pages(dataset: str, report: Path, runs: dict[str, dict[str, Path]]) -> dict[str, str]:
    """A page per run under `runs/` beside `report`, linking to its pictures where the render stage wrote
    them; returns run name -> page path relative to the report. Pages of an earlier report are removed."""
    folder = report.parent / "runs"
    shutil.rmtree(folder, ignore_errors=True)
    pages = {}
    for i, (run, pictures) in enumerate(runs.items()):
        page = folder / f"{i:05d}.html"  # run names may hold any character; the page lists the name
        relative = {k: os.path.relpath(p, page.parent) for k, p in pictures.items()}
        page.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(page) as tmp:
            tmp.write_text(run_page(dataset, run, relative, os.path.relpath(report, page.parent)), encoding="utf-8")
        pages[run] = page.relative_to(report.parent).as_posix()
    return pages


def build_report(root: Path, dataset: str) -> Path:
    """Write `reports/<dataset>/index.html` and return its path; DataError when the pictures are missing."""
    paths = ProjectPaths(root)
    plots = paths.plots(dataset)
    index_path = paths.plots_index(dataset)
    if not index_path.is_file():
        raise DataError(f"no rendered pictures at {index_path}; run the render stage first (dvc repro render)")
    index = read_json(index_path)
    out = paths.report(dataset)
    validation_dir = paths.validation(dataset)
    docs = next(iter(sorted(validation_dir.rglob("index.html"))), None) if validation_dir.is_dir() else None
    base = ui_base(tracking_uri(root))
    links = {"experiment": experiment_url(base, index["experiment_id"])}
    links.update({r["run"]: run_url(base, index["experiment_id"], r["run_id"]) for r in index["comparison"]})
    registered = _optional_json(paths.registered(dataset))
    lineage, lineage_error = None, None
    if registered:
        try:
            lineage = champion_lineage(client_for(root), registered)
        except DataError as exc:
            lineage_error = str(exc)
    run_pictures = {r["run"]: {k: plots / p for k, p in r["pictures"].items()} for r in index["runs"]}
    champion = (registered or {}).get("run_name")
    # the champion first, then each configuration's representative run, then the rest as rendered
    representatives = {e["representative"] for e in configuration_summary(index["comparison"]) if "representative" in e}
    order = sorted(run_pictures, key=lambda run: (run != champion, run not in representatives))
    run_pages = write_run_pages(dataset, out, {run: run_pictures[run] for run in order[EMBEDDED_RUNS:]})
    inputs = ReportInputs(
        dataset=dataset,
        comparison=index["comparison"],
        columns=index.get("columns", ()),
        run_pictures={run: run_pictures[run] for run in order},
        run_pages=run_pages,
        sweep_pictures={k: plots / p for k, p in index["sweep"].items()},
        table=_optional_json(paths.table_json(dataset)),
        validation=_optional_json(paths.validation_summary(dataset)),
        validation_docs=os.path.relpath(docs, out.parent) if docs else None,
        lineage=lineage,
        lineage_error=lineage_error,
        links=links,
    )
    with atomic_path(out) as tmp:
        tmp.write_text(build_page(inputs), encoding="utf-8")
    return out
