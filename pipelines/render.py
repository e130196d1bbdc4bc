"""`render` stage: a Prefect flow drawing a latent-traversal grid PNG per finished run.

    python -m pipelines.render

PNGs land in `plots/<dataset>/<run name>_traversal.png` and are logged to each MLflow run.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from betavae.config import RenderConfig
from pipelines.common import ROOT, main_guard, params

if TYPE_CHECKING:
    from betavae.data.protocols import ImageSet
    from betavae.tracking.sweep_record import RunRecord


@task(cache_policy=NO_CACHE, task_run_name="render-{record.name}")
def render_run(record: RunRecord, data: ImageSet, cfg: RenderConfig, root: Path, out_dir: Path) -> str:
    import numpy as np

    from betavae.render.traversal import (
        kl_per_latent,
        save_traversal_png,
        traversal_grid,
    )
    from betavae.tracking.client import RunLogger, client_for
    from betavae.training.checkpoint import model_from_checkpoint

    model, _ = model_from_checkpoint(Path(record.checkpoint))
    rng = np.random.default_rng(cfg.seed)
    idx = np.sort(rng.choice(len(data.images), size=min(cfg.kl_samples, len(data.images)), replace=False))
    kl = kl_per_latent(model, data.images[idx], data.max_pixel_value)
    order = np.argsort(-kl, kind="stable")
    path = out_dir / f"{record.name}_traversal.png"
    seeds = data.images[rng.choice(len(data.images), size=cfg.seed_images, replace=False)]
    grids = [traversal_grid(model, s, data.max_pixel_value, order, cfg.limit, cfg.steps) for s in seeds]
    save_traversal_png(np.concatenate(grids, axis=1), path, order, kl, cfg.limit, cfg.steps,
                       repeats=len(grids), title=record.name)
    RunLogger(client_for(root), record.run_id).log_artifact(path, "traversals")
    return str(path)


@flow(name="render-sweep", log_prints=True)
def render_sweep(root: str | None = None) -> list[str]:
    from betavae.config import load_params
    from betavae.data.storage import load_dataset
    from betavae.paths import ProjectPaths
    from betavae.tracking.sweep_record import read_sweep_record

    project = Path(root or ROOT)
    paths = ProjectPaths(project)
    p = load_params(paths.params_file)
    cfg = RenderConfig.from_dict(p.get("render"))
    dataset = p["data"]["dataset"]
    sweep = read_sweep_record(paths.sweep_record(dataset))
    data = load_dataset(paths.dataset(dataset))
    out_dir = paths.plots(dataset)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [render_run(r, data, cfg, project, out_dir) for r in sweep.finished]
    for path in written:
        print(f"wrote {Path(path).relative_to(project)}")
    return written


def _check_params() -> None:
    RenderConfig.from_dict(params().get("render"))


def main() -> None:
    main_guard(_check_params)
    main_guard(render_sweep, flow=True)


if __name__ == "__main__":
    main()
