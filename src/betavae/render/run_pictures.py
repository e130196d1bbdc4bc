"""Every picture of one trained run, drawn from its checkpoint with one seed.

Writes into `out_dir`: `traversal.png` (grid), `traversal.gif` (animation), `reconstructions.png`,
`prior_samples.png`, `kl_per_latent.png`, `losses.png` (when a loss history is given),
`factor_response.png` (datasets with factors), `latent_scatter.png` and `decoded_grid.png` (2-latent
models) and `snapshots.png` (runs with snapshots over training). The same
checkpoint, data and seed give byte-identical files.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, cast

import numpy as np
import torch

from betavae.config import RenderConfig
from betavae.data.ground_truth import GroundTruthData
from betavae.data.protocols import ImageSet
from betavae.data.split import held_out
from betavae.errors import DataError
from betavae.evaluation.inference import encode_means, kl_per_latent, representation_of
from betavae.render import (
    animation,
    decoded_grid,
    factor_response,
    kl_bars,
    losses,
    reconstructions,
    samples,
    scatter,
)
from betavae.render.snapshot_pictures import COLUMNS as SNAPSHOT_COLUMNS
from betavae.render.snapshot_pictures import save_snapshot_pictures_png
from betavae.render.traversal import (
    posterior_ranges,
    save_traversal_png,
    sweep_values,
    traversal_grid,
)
from betavae.training.checkpoint import load_checkpoint, model_from_checkpoint

RECONSTRUCTIONS = 8
logger = logging.getLogger(__name__)

PRIOR_SAMPLES = samples.GRID * samples.GRID
SCATTER_POINTS = 2000
RANGE_TAIL = 0.01  # a posterior range leaves out this share of the means at each end (outliers)


class _RowClasses(Protocol):
    """A dataset with factors (`has_factors`) also gives the factor classes of its image rows."""

    def index_to_classes(self, index: np.ndarray) -> np.ndarray: ...


@dataclass
class RunPictures:
    """The pictures of one run (kind -> path) and the KL per latent (nats) they were sorted by."""

    paths: dict[str, Path]
    kl: np.ndarray


def draw_run(
    checkpoint: Path,
    data: ImageSet,
    settings: RenderConfig,
    out_dir: Path,
    *,
    title: str,
    history: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
    snapshots: Sequence[Path] = (),
) -> RunPictures:
    """Draw every picture of the run in `checkpoint` into `out_dir`; with `snapshots` (the run's weights
    over training), the reconstructions and prior samples of each in one picture as well.

    The pictures of the model's inputs (reconstructions, traversal seeds, the KL order, the latent scatter,
    snapshots) use the test split of `data`, images the model never trained on; the factor response
    renders the whole factor grid (:mod:`betavae.data.split`)."""
    model, run = model_from_checkpoint(Path(checkpoint))
    payload = load_checkpoint(Path(checkpoint))
    rng = np.random.default_rng(settings.seed)
    test = held_out(data)
    images = test.images
    held = np.sort(rng.choice(len(images), size=min(settings.kl_samples, len(images)), replace=False))
    kl = kl_per_latent(model, images[held], data.max_pixel_value)
    order = np.argsort(-kl, kind="stable")
    means = encode_means(model, images[held], data.max_pixel_value)
    ranges = posterior_ranges(means, RANGE_TAIL) if settings.range == "posterior" else None
    values = sweep_values(order, settings.steps, settings.limit, ranges)
    seeds = images[rng.choice(len(images), size=settings.seed_images, replace=False)]
    out: dict[str, Path] = {}

    grids = [
        traversal_grid(model, s, data.max_pixel_value, order, settings.limit, settings.steps, values) for s in seeds
    ]
    out["traversal"] = save_traversal_png(
        np.concatenate(grids, axis=1),
        out_dir / "traversal.png",
        order,
        kl,
        settings.limit,
        settings.steps,
        repeats=len(grids),
        title=title,
        values=values,
    )
    active = animation.active_latents(kl)
    rows = {int(latent): r for r, latent in enumerate(order)}
    frames = animation.traversal_frames(
        model, seeds, data.max_pixel_value, active, values[[rows[int(a)] for a in active]], kl
    )
    out["traversal_gif"] = animation.save_gif(frames, out_dir / "traversal.gif")

    shown = images[held[:RECONSTRUCTIONS]]
    out["reconstructions"] = reconstructions.save_reconstructions_png(
        shown,
        reconstructions.reconstruct(model, shown, data.max_pixel_value),
        data.max_pixel_value,
        out_dir / "reconstructions.png",
        title=f"{title}: inputs and reconstructions",
    )

    generator = torch.Generator().manual_seed(settings.seed)
    prior = samples.prior_of(run, payload.get("objective"))
    z = samples.sample_prior(prior, PRIOR_SAMPLES, run.model.latent_dim, generator)
    prior_name = "L^p-nested ISA prior" if prior is not None else "N(0, I)"
    out["prior_samples"] = samples.save_samples_png(
        samples.decode_samples(model, z), out_dir / "prior_samples.png", title=f"{title}: samples from {prior_name}"
    )
    out["kl_per_latent"] = kl_bars.save_kl_bars_png(kl, out_dir / "kl_per_latent.png", title=f"{title}: KL per latent")
    if history is not None:
        out["losses"] = losses.save_losses_png(history, out_dir / "losses.png", title=f"{title}: loss terms")
    if getattr(data, "has_factors", False):
        try:
            response = factor_response.factor_response(
                cast(GroundTruthData, data),  # a dataset with factors is ground-truth data
                representation_of(model, data.max_pixel_value),
                np.random.default_rng(settings.seed + 1),
            )
        except DataError as exc:  # an incomplete grid lacks some factor combinations
            logger.warning("%s: no factor response: %s", title, exc)
        else:
            out["factor_response"] = factor_response.save_factor_response_png(
                response, order, kl, out_dir / "factor_response.png", title=f"{title}: mean activation per factor"
            )
    if snapshots:
        out["snapshots"] = save_snapshot_pictures_png(
            snapshots,
            Path(checkpoint),
            images[held[:SNAPSHOT_COLUMNS]],
            data.max_pixel_value,
            out_dir / "snapshots.png",
            settings.seed,
            title=f"{title}: over training",
        )
    if run.model.latent_dim == 2:
        pick = held[:SCATTER_POINTS]
        classes = cast(_RowClasses, test).index_to_classes(pick) if getattr(test, "has_factors", False) else None
        out["latent_scatter"] = scatter.save_scatter_png(
            means[: len(pick)],
            classes,
            list(getattr(test, "factor_names", ())),
            out_dir / "latent_scatter.png",
            title=f"{title}: latent means of held-out images",
        )
        out["decoded_grid"] = decoded_grid.save_decoded_grid_png(
            decoded_grid.decoded_grid(model),
            out_dir / "decoded_grid.png",
            title=f"{title}: decoded grid over (-{decoded_grid.LIMIT:g}, {decoded_grid.LIMIT:g})^2",
        )
    return RunPictures(out, kl)
