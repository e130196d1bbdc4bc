"""`render` stage: a Prefect flow drawing every picture of every finished run and the sweep's plots.

    python -m pipelines.render dsprites

Writes under `plots/<dataset>/` (the layout is :mod:`betavae.render.sweep_pictures`). Each picture is
logged to its MLflow run, the sweep plots and the comparison table to the parent run, and the flow run
gets a Markdown and a table artifact with the scores and links into the MLflow UI.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from betavae.config import RenderConfig
from betavae.config.per_dataset import checked_dataset
from betavae.config.whole import load_checked_params
from betavae.data.protocols import ImageSet
from betavae.data.storage import load_dataset
from betavae.io import read_json
from betavae.paths import ProjectPaths
from betavae.render.sweep_pictures import draw_run_pictures, draw_sweep_plots, fresh_plots_folder, write_plots_index
from betavae.tracking.client import client_for
from betavae.tracking.runs_table import comparison_rows
from betavae.tracking.sweep_record import RunRecord, SweepRecord, read_sweep_record
from pipelines.artifacts import publish_sweep_artifacts
from pipelines.common import ROOT, main_guard, params
from pipelines.dataset_arg import dataset_argument


@task(cache_policy=NO_CACHE, task_run_name="render-{record.name}")
def render_run(
    record: RunRecord,
    data: ImageSet,
    settings: RenderConfig,
    root: Path,
    out_dir: Path,
) -> dict[str, Any]:
    return draw_run_pictures(record, data, settings, client_for(root), out_dir)


@task(cache_policy=NO_CACHE)
def render_sweep_plots(
    sweep: SweepRecord,
    rows: list[dict[str, Any]],
    root: Path,
    out_dir: Path,
    dataset: str,
    over_training: dict[str, Any] | None = None,
    pixels: int | None = None,
) -> dict[str, str]:
    return draw_sweep_plots(sweep, rows, client_for(root), out_dir, dataset, over_training, pixels)


@flow(name="render-sweep", log_prints=True)
def render_sweep(dataset: str, root: str | None = None) -> list[str]:
    project = Path(root or ROOT)
    paths = ProjectPaths(project)
    p = load_checked_params(paths.params_file)
    cfg = RenderConfig.from_dict(p.get("render"))
    checked_dataset(p, dataset)
    sweep = read_sweep_record(paths.sweep_record(dataset))
    scores = read_json(paths.scores(dataset)) if paths.scores(dataset).is_file() else {}
    data = load_dataset(paths.dataset(dataset))
    out_dir = fresh_plots_folder(paths.plots(dataset))
    runs = [render_run(r, data, cfg, project, out_dir) for r in sweep.finished]
    rows = comparison_rows(sweep.runs, scores)
    curves = read_json(paths.over_training(dataset)) if paths.over_training(dataset).is_file() else None
    pixels = int(np.prod(data.observation_shape))  # N of the normalised beta (Higgins et al. 2017 Sec. 4)
    sweep_pictures = render_sweep_plots(sweep, rows, project, out_dir, dataset, curves, pixels)
    written = write_plots_index(paths, dataset, sweep, runs, sweep_pictures, rows)
    publish_sweep_artifacts("render", dataset, sweep, rows, project)
    print(f"wrote {len(written)} files under plots/{dataset}/ ({len(runs)} runs)")
    return written


def main() -> None:
    dataset = dataset_argument(sys.argv)
    main_guard(lambda: RenderConfig.from_dict(params().get("render")))  # before a Prefect server starts
    main_guard(render_sweep, dataset, flow=True)


if __name__ == "__main__":
    main()
