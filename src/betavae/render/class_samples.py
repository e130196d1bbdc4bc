"""The picture of a conditional VAE (`model.condition_on`): the same prior draws decoded with every class.

Row k decodes the draws z_1..z_n ~ N(0, I) given class k, so a column keeps its z (the "style" the model
leaves to the latents) while the class changes down the rows: the control over generation that Singh 2018
Sec. 4.2 gives as the reason for the conditional VAE ("generate handwriting of the character '2'").
Size `SIZES["class_samples"]`; the same model and seed give a byte-identical picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from betavae.models.vae import VAE
from betavae.render.figure import new_figure, save_png, tile
from betavae.render.samples import decode_samples

COLUMNS = 8  # prior draws per row
MAX_ROWS = 26  # classes shown: every class up to the 26 EMNIST letters


def shown_classes(num_classes: int) -> list[int]:
    """The classes drawn, one row each: all of them, or the first `MAX_ROWS`."""
    return list(range(min(num_classes, MAX_ROWS)))


@torch.no_grad()
def class_samples(model: VAE, seed: int, columns: int = COLUMNS) -> np.ndarray:
    """uint8 images (rows * columns, H, W, C): `columns` draws of N(0, I), the same in every row, decoded
    given each class of :func:`shown_classes`, row by row."""
    if not model.conditional:
        raise ValueError("class samples need a conditional model (model.condition_on)")
    z = torch.randn((columns, model.config.latent_dim), generator=torch.Generator().manual_seed(seed))
    return np.concatenate([decode_samples(model.given(k), z) for k in shown_classes(model.condition_classes)])


def save_class_samples_png(
    images: np.ndarray, class_names: Sequence[str], path: Path, columns: int = COLUMNS, title: str = ""
) -> Path:
    """The mosaic of :func:`class_samples`, one row per class, each row labelled with `class_names`."""
    rows = len(images) // columns
    mosaic = tile(images, rows, columns)
    height = images.shape[1]
    fig, axes = new_figure("class_samples")
    ax = axes[0, 0]
    ax.imshow(
        mosaic[..., 0] if mosaic.shape[-1] == 1 else mosaic, cmap="gray", vmin=0, vmax=255, interpolation="nearest"
    )
    ax.set_yticks([height * (r + 0.5) for r in range(rows)])
    ax.set_yticklabels(list(class_names)[:rows], fontsize=7)
    ax.set_xticks([])
    ax.set_xlabel("the same draws z ~ N(0, I) in every column")
    ax.tick_params(length=0)
    fig.suptitle(title, fontsize=10)
    return save_png(fig, path)
