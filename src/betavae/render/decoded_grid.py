"""The decoded latent plane of a 2-latent model: the decoder's image at each point of a regular grid.

Levy et al. 2020 (Fig. 7, right) decode a grid over (-4, 4) x (-4, 4) of their 2-latent EMNIST models to
show what each region of the code space generates (the layout of Kingma & Welling 2014, Fig. 4). Here
column j holds z0 = the j-th grid value (left to right, increasing) and row i holds z1 = the i-th value
from the top (top to bottom, decreasing), as on a plot. Picture size: `SIZES["decoded_grid"]` (800 x 800
pixels).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from betavae.models.vae import VAE
from betavae.render.figure import new_figure, save_png, tile
from betavae.render.samples import decode_samples

GRID = 15
LIMIT = 4.0  # Levy et al. 2020, Fig. 7: (-4, 4)


def grid_latents(n: int = GRID, limit: float = LIMIT) -> torch.Tensor:
    """(n * n, 2) latents, row-major: row i has z1 = values[n - 1 - i], column j has z0 = values[j]."""
    values = torch.linspace(-limit, limit, n)
    z1, z0 = torch.meshgrid(values.flip(0), values, indexing="ij")
    return torch.stack([z0.reshape(-1), z1.reshape(-1)], dim=1)


def decoded_grid(model: VAE, n: int = GRID, limit: float = LIMIT) -> np.ndarray:
    """The decoder's uint8 images (n * n, H, W, C) at :func:`grid_latents`."""
    if model.config.latent_dim != 2:
        raise ValueError(f"a decoded grid needs a 2-latent model, got {model.config.latent_dim} latents")
    return decode_samples(model, grid_latents(n, limit))


def save_decoded_grid_png(images: np.ndarray, path: Path, n: int = GRID, limit: float = LIMIT, title: str = "") -> Path:
    """The n x n mosaic of `images`, its axes labelled with z0 (columns) and z1 (rows)."""
    mosaic = tile(images, n, n)
    h, w = images.shape[1:3]
    fig, axes = new_figure("decoded_grid")
    ax = axes[0, 0]
    extent = (-limit - 0.5 * 2 * limit / (n - 1), limit + 0.5 * 2 * limit / (n - 1))
    shown = mosaic[..., 0] if mosaic.shape[-1] == 1 else mosaic
    ax.imshow(shown, cmap="gray", vmin=0, vmax=255, interpolation="nearest", extent=(*extent, *extent))
    ax.set_xlabel("z0")
    ax.set_ylabel("z1")
    ax.set_title(title or f"decoded grid over ({-limit:g}, {limit:g})^2, {n} x {n} of {h} x {w}", fontsize=10)
    fig.tight_layout()
    return save_png(fig, path)
