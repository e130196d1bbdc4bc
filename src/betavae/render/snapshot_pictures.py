"""Pictures over training: one row per snapshot (`train.snapshots`) and a last row for the trained model,
each with the reconstructions of the same held-out images and decodings of the same prior draws, as
Baklazhenko et al. 2023 (Figs. 5-9) show a model after 1, 5, 10 and 20 epochs.

Size `SIZES["snapshot_pictures"]`; the same files and seed give a byte-identical picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from betavae.paths import snapshot_step
from betavae.render import samples
from betavae.render.figure import new_figure, save_png, tile
from betavae.render.reconstructions import reconstruct
from betavae.training.checkpoint import load_checkpoint, model_from_checkpoint

COLUMNS = 6  # images reconstructed, and prior samples decoded, per row


def snapshot_rows(
    files: Sequence[Path], final: Path, inputs: np.ndarray, max_pixel_value: int, seed: int, given: int | None = None
) -> tuple[list[str], np.ndarray]:
    """Row labels and one uint8 mosaic row per model (the snapshots by step, then `final`): the
    reconstructions of `inputs` (COLUMNS images, fewer where a test split holds fewer) beside as many
    decoded draws of the model's prior; a conditional model's given class `given`."""
    labels, rows = [], []
    for path in [*sorted(files, key=snapshot_step), final]:  # snapshot names sort by step
        model, run = model_from_checkpoint(path)
        if given is not None:
            model = model.given(given)
        payload = load_checkpoint(path)
        generator = torch.Generator().manual_seed(seed)  # the same draws for every row
        prior = samples.prior_of(run, payload.get("objective"))
        z = samples.sample_prior(prior, len(inputs), run.model.latent_dim, generator)
        images = np.concatenate([reconstruct(model, inputs, max_pixel_value), samples.decode_samples(model, z)])
        rows.append(tile(images, 1, len(images)))
        step = int(payload["step"])
        labels.append(f"step {step:,}" + ("" if path != final else " (trained)"))
    return labels, np.stack(rows)


def save_snapshot_pictures_png(
    files: Sequence[Path],
    final: Path,
    inputs: np.ndarray,
    max_pixel_value: int,
    path: Path,
    seed: int,
    title: str = "",
    given: int | None = None,
) -> Path:
    """The inputs on top, then one row per snapshot: reconstructions | prior samples (a conditional
    model's given class `given`)."""
    labels, rows = snapshot_rows(files, final, inputs, max_pixel_value, seed, given)
    shown = (inputs.astype(np.float64) * (255.0 / max_pixel_value)).round().astype(np.uint8)
    top = tile(np.concatenate([shown, np.zeros_like(shown)]), 1, 2 * len(shown))
    mosaic = np.concatenate([top[None], rows])  # (1 + snapshots, H, W * 2 COLUMNS, C)
    height = mosaic.shape[1]
    fig, axes = new_figure("snapshot_pictures")
    ax = axes[0, 0]
    image = np.concatenate(list(mosaic), axis=0)
    ax.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    ax.set_yticks([height * (i + 0.5) for i in range(len(mosaic))])
    ax.set_yticklabels(["inputs", *labels], fontsize=8)
    ax.set_xticks([image.shape[1] * 0.25, image.shape[1] * 0.75])
    ax.set_xticklabels(["reconstructions of the inputs", "samples from the prior (same draws in every row)"])
    ax.tick_params(length=0)
    fig.suptitle(title, fontsize=10)
    return save_png(fig, path)
