"""Every picture of one trained run, drawn from its checkpoint with one seed.

Writes into `out_dir`: `traversal.png` (grid), `traversal.gif` (animation), `reconstructions.png`,
`prior_samples.png`, `kl_per_latent.png`, `losses.png` (when a loss history is given),
`factor_response.png` (datasets with factors), `latent_scatter.png` and `decoded_grid.png` (2-latent
models), `snapshots.png` (runs with snapshots over training) and `class_samples.png` (conditional models).
The same checkpoint, data and seed give byte-identical files.

A conditional model (`model.condition_on`) is drawn given one class, the smallest in the test split: its
test images of that class are the inputs, and the traversals, reconstructions, samples, decoded grid and
snapshots decode given that class (the titles say which); `class_samples.png` shows every class.
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
from betavae.evaluation.inference import encode_means, kl_per_latent, labels_of, representation_of
from betavae.render import (
    animation,
    class_samples,
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
    conditional, run = model_from_checkpoint(Path(checkpoint))
    payload = load_checkpoint(Path(checkpoint))
    rng = np.random.default_rng(settings.seed)
    test = held_out(data)
    images = test.images
    model, given = conditional, None
    labels = labels_of(conditional, test)
    if labels is not None:  # a conditional model: the pictures of one class
        given = int(labels.min())
        model, images = conditional.given(given), images[labels == given]
        title = f"{title} | {condition_name(data, run.model.condition_on, given)}"
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
                representation_of(conditional, data.max_pixel_value, factor_names=getattr(data, "factor_names", ())),
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
            given=given,
        )
    if given is not None:
        names = [
            condition_name(data, run.model.condition_on, k)
            for k in class_samples.shown_classes(conditional.condition_classes)
        ]
        out["class_samples"] = class_samples.save_class_samples_png(
            class_samples.class_samples(conditional, settings.seed),
            names,
            out_dir / "class_samples.png",
            title=f"{title.rpartition(' | ')[0]}: the same draws decoded given each class",
        )
    if run.model.latent_dim == 2:
        pick, points, scatter_title = held[:SCATTER_POINTS], means, title
        if labels is not None:  # every class, each test image encoded with its own
            every = np.random.default_rng(settings.seed + 2)
            pick = np.sort(every.choice(len(test.images), size=min(len(held), len(test.images)), replace=False))
            points = encode_means(conditional, test.images[pick], data.max_pixel_value, labels=labels[pick])
            scatter_title = title.rpartition(" | ")[0]
        classes = cast(_RowClasses, test).index_to_classes(pick) if getattr(test, "has_factors", False) else None
        out["latent_scatter"] = scatter.save_scatter_png(
            points[: len(pick)],
            classes,
            list(getattr(test, "factor_names", ())),
            out_dir / "latent_scatter.png",
            title=f"{scatter_title}: latent means of held-out images",
        )
        out["decoded_grid"] = decoded_grid.save_decoded_grid_png(
            decoded_grid.decoded_grid(model),
            out_dir / "decoded_grid.png",
            title=f"{title}: decoded grid over (-{decoded_grid.LIMIT:g}, {decoded_grid.LIMIT:g})^2",
        )
    return RunPictures(out, kl)


def condition_name(data: object, factor: str | None, k: int) -> str:
    """`<factor> = <value>` of class k of a conditional model's factor (its value where the dataset lists
    one, else the class)."""
    names = list(getattr(data, "factor_names", ()))
    values = getattr(data, "factor_values", ())
    value: object = k
    if factor in names and len(values) > names.index(factor) and k < len(values[names.index(factor)]):
        value = values[names.index(factor)][k]
    return f"{factor} = {value:g}" if isinstance(value, (float, np.floating)) else f"{factor} = {value}"
