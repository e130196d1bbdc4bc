"""`render` stage: a Prefect flow drawing every picture of every finished run and the sweep's plots.

    python -m pipelines.render dsprites

Writes under `plots/<dataset>/`:
- `runs/<run>/`: traversal grid and GIF, reconstructions, prior samples, KL per latent, loss terms,
  factor response (datasets with factors), latent scatter (2-latent models);
- `traversals/<run>.png`: the traversal grids again, for `dvc plots` (an image directory);
- `sweep/`: trade-off (metric against reconstruction) and metric-against-beta plots;
- `curves/losses/<run>.csv`, `curves/runs.csv`: the data `dvc plots` draws; `index.json`: what was drawn.
Each picture is logged to its MLflow run, the sweep plots and the comparison table to the parent run, and
the flow run gets a Markdown and a table artifact with the scores and links into the MLflow UI.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from betavae.config import RenderConfig
from pipelines.artifacts import publish_sweep_artifacts
from pipelines.common import ROOT, main_guard, params
from pipelines.dataset_arg import dataset_argument

if TYPE_CHECKING:
    from betavae.data.protocols import ImageSet
    from betavae.tracking.sweep_record import RunRecord, SweepRecord


@task(cache_policy=NO_CACHE, task_run_name="render-{record.name}")
def render_run(record: RunRecord, data: ImageSet, settings: RenderConfig, root: Path, out_dir: Path,
               ) -> dict[str, Any]:
    from betavae.render.curves import write_loss_csv
    from betavae.render.losses import loss_history
    from betavae.render.mlflow_log import log_run_pictures
    from betavae.render.run_pictures import draw_run
    from betavae.tracking.client import client_for

    client = client_for(root)
    history = loss_history(client, record.run_id)
    pictures = draw_run(Path(record.checkpoint), data, settings, out_dir / "runs" / record.name,
                        title=record.name, history=history)
    shutil.copyfile(pictures.paths["traversal"], out_dir / "traversals" / f"{record.name}.png")
    write_loss_csv(history, out_dir / "curves" / "losses" / f"{record.name}.csv")
    log_run_pictures(client, record.run_id, pictures.paths, step=record.run.train.steps)
    return {"run": record.name, "kl_per_latent": [float(v) for v in pictures.kl],
            "pictures": {k: str(p.relative_to(out_dir)) for k, p in pictures.paths.items()}}


@task(cache_policy=NO_CACHE)
def render_sweep_plots(sweep: SweepRecord, rows: list[dict[str, Any]], root: Path, out_dir: Path,
                       dataset: str) -> dict[str, str]:
    from betavae.render.comparison import sweep_points
    from betavae.render.curves import write_runs_csv
    from betavae.render.mlflow_log import log_sweep_results
    from betavae.render.sweep_plots import save_metric_vs_beta_png, save_tradeoff_png
    from betavae.tracking.client import client_for

    points = sweep_points(rows)
    pictures = {
        "sweep_tradeoff": save_tradeoff_png(points, out_dir / "sweep" / "tradeoff.png",
                                            title=f"{dataset}: disentanglement against reconstruction"),
        "metric_vs_beta": save_metric_vs_beta_png(points, out_dir / "sweep" / "metric_vs_beta.png",
                                                  title=f"{dataset}: disentanglement against \u03b2"),
    }
    write_runs_csv(rows, out_dir / "curves" / "runs.csv")
    log_sweep_results(client_for(root), sweep.parent_run_id, pictures, rows)
    return {k: str(p.relative_to(out_dir)) for k, p in pictures.items()}


@flow(name="render-sweep", log_prints=True)
def render_sweep(dataset: str, root: str | None = None) -> list[str]:
    from betavae.config import load_params
    from betavae.config.per_dataset import params_for
    from betavae.data.storage import load_dataset
    from betavae.io import read_json, write_json
    from betavae.paths import ProjectPaths
    from betavae.render.comparison import comparison_rows
    from betavae.tracking.sweep_record import read_sweep_record

    project = Path(root or ROOT)
    paths = ProjectPaths(project)
    p = load_params(paths.params_file)
    cfg = RenderConfig.from_dict(p.get("render"))
    params_for(p, dataset)
    sweep = read_sweep_record(paths.sweep_record(dataset))
    scores_path = paths.scores(dataset)
    scores = read_json(scores_path) if scores_path.is_file() else {}
    data = load_dataset(paths.dataset(dataset))
    out_dir = paths.plots(dataset)
    if out_dir.exists():
        shutil.rmtree(out_dir)  # a stage output: stale pictures of runs no longer in the sweep must go
    for sub in ("traversals", "curves/losses", "sweep"):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)
    runs = [render_run(r, data, cfg, project, out_dir) for r in sweep.finished]
    rows = comparison_rows(sweep.runs, scores)
    sweep_pictures = render_sweep_plots(sweep, rows, project, out_dir, dataset)
    write_json(out_dir / "index.json", {"dataset": dataset, "experiment_id": sweep.experiment_id,
                                        "parent_run_id": sweep.parent_run_id, "runs": runs,
                                        "sweep": sweep_pictures, "comparison": rows,
                                        "columns": list(rows[0]) if rows else []})
    publish_sweep_artifacts("render", dataset, sweep, rows, project)
    written = sorted(str(f) for f in out_dir.rglob("*") if f.is_file())
    print(f"wrote {len(written)} files under plots/{dataset}/ ({len(runs)} runs)")
    return written


def _check_params() -> None:
    RenderConfig.from_dict(params().get("render"))


def main() -> None:
    dataset = dataset_argument(sys.argv)
    main_guard(_check_params)
    main_guard(render_sweep, dataset, flow=True)


if __name__ == "__main__":
    main()
