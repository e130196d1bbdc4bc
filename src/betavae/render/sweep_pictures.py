"""The render stage's pictures under `plots/<dataset>/`, each also logged to its MLflow run.

- `runs/<run>/`: traversal grid and GIF, reconstructions, prior samples, KL per latent, loss terms,
  factor response (datasets with factors), latent scatter (2-latent models);
- `traversals/<run>.png`: the traversal grids again, for `dvc plots` (an image directory);
- `sweep/`: trade-off (metric against reconstruction) and metric-against-beta plots;
- `curves/losses/<run>.csv`, `curves/runs.csv`: the data `dvc plots` draws; `index.json`: what was drawn.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mlflow.tracking import MlflowClient

from betavae.config import RenderConfig
from betavae.data.protocols import ImageSet
from betavae.io import write_json
from betavae.paths import ProjectPaths, snapshot_files
from betavae.render.curves import write_loss_csv, write_runs_csv
from betavae.render.losses import loss_history
from betavae.render.mlflow_log import log_run_pictures, log_sweep_results
from betavae.render.over_training import save_over_training_png
from betavae.render.run_pictures import draw_run
from betavae.render.sweep_plots import (
    save_metric_vs_beta_png,
    save_normalised_beta_png,
    save_score_distribution_png,
    save_tradeoff_png,
)
from betavae.tracking.runs_table import sweep_points
from betavae.tracking.sweep_record import RunRecord, SweepRecord

SUBFOLDERS = ("traversals", "curves/losses", "sweep")


def fresh_plots_folder(out_dir: Path) -> Path:
    """Empty `out_dir` and create its subfolders: it is a stage output, so the pictures of runs no longer
    in the sweep must go."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    for sub in SUBFOLDERS:
        (out_dir / sub).mkdir(parents=True, exist_ok=True)
    return out_dir


def draw_run_pictures(
    record: RunRecord, data: ImageSet, settings: RenderConfig, client: MlflowClient, out_dir: Path
) -> dict[str, Any]:
    """Every picture of one finished run, logged to its MLflow run; returns its entry of `index.json`."""
    history = loss_history(client, record.run_id)
    checkpoint = Path(str(record.checkpoint))
    pictures = draw_run(
        checkpoint,
        data,
        settings,
        out_dir / "runs" / record.name,
        title=record.name,
        history=history,
        snapshots=snapshot_files(checkpoint),
    )
    shutil.copyfile(pictures.paths["traversal"], out_dir / "traversals" / f"{record.name}.png")
    write_loss_csv(history, out_dir / "curves" / "losses" / f"{record.name}.csv")
    log_run_pictures(client, record.run_id, pictures.paths, step=record.run.train.steps)
    return {
        "run": record.name,
        "kl_per_latent": [float(v) for v in pictures.kl],
        "pictures": {k: str(p.relative_to(out_dir)) for k, p in pictures.paths.items()},
    }


def draw_sweep_plots(
    sweep: SweepRecord,
    rows: Sequence[Mapping[str, Any]],
    client: MlflowClient,
    out_dir: Path,
    dataset: str,
    over_training: Mapping[str, Any] | None = None,
    pixels: int | None = None,
) -> dict[str, str]:
    """The sweep's plots and `curves/runs.csv`, logged with the comparison rows to the parent run; returns
    the pictures' paths relative to `out_dir`. With curves over training (runs with snapshots), their plot
    too; with several latent sizes and the images' `pixels`, normalised beta against latent size."""
    points = sweep_points(rows)
    pictures = {
        "sweep_tradeoff": save_tradeoff_png(
            points, out_dir / "sweep" / "tradeoff.png", title=f"{dataset}: disentanglement against reconstruction"
        ),
        "metric_vs_beta": save_metric_vs_beta_png(
            points, out_dir / "sweep" / "metric_vs_beta.png", title=f"{dataset}: disentanglement against \u03b2"
        ),
        "score_distribution": save_score_distribution_png(
            points, out_dir / "sweep" / "score_distribution.png", title=f"{dataset}: scores over seeds"
        ),
    }
    if pixels and len({p.latent_dim for p in points}) > 1:
        pictures["normalised_beta"] = save_normalised_beta_png(
            points, out_dir / "sweep" / "normalised_beta.png", pixels, title=f"{dataset}: normalised \u03b2"
        )
    if over_training and over_training.get("runs"):
        pictures["over_training"] = save_over_training_png(
            over_training, out_dir / "sweep" / "over_training.png", title=f"{dataset}: scores over training"
        )
    write_runs_csv([dict(r) for r in rows], out_dir / "curves" / "runs.csv")
    log_sweep_results(client, sweep.parent_run_id, pictures, list(rows))
    return {k: str(p.relative_to(out_dir)) for k, p in pictures.items()}


def write_plots_index(
    paths: ProjectPaths,
    dataset: str,
    sweep: SweepRecord,
    runs: Sequence[Mapping[str, Any]],
    sweep_pictures: Mapping[str, str],
    rows: Sequence[Mapping[str, Any]],
) -> list[str]:
    """`plots/<dataset>/index.json`, what the report reads; returns every file now under the folder."""
    write_json(
        paths.plots_index(dataset),
        {
            "dataset": dataset,
            "experiment_id": sweep.experiment_id,
            "parent_run_id": sweep.parent_run_id,
            "runs": list(runs),
            "sweep": dict(sweep_pictures),
            "comparison": list(rows),
            "columns": list(rows[0]) if rows else [],
        },
    )
    return sorted(str(f) for f in paths.plots(dataset).rglob("*") if f.is_file())
