"""Reconstructions beside their inputs: held-out images in the top row, their decoded posterior means below.

Picture size: `SIZES["reconstructions"]` (1200 x 400 pixels).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from betavae.models.inputs import to_float_images
from betavae.models.vae import VAE
from betavae.render.figure import (
    new_figure,
    save_png,
    show_image,
    to_intensities,
    to_uint8,
)


@torch.no_grad()
def reconstruct(model: VAE, images: np.ndarray, max_pixel_value: int) -> np.ndarray:
    """Decode the posterior mean of each uint8 image (n, H, W, C); returns uint8 (n, H, W, C) in 0..255."""
    model.eval()
    mu, _ = model.encode(to_float_images(torch.from_numpy(images), max_pixel_value))
    return to_uint8(to_intensities(model.decode(mu), model.config.likelihood))


def save_reconstructions_png(
    inputs: np.ndarray, reconstructions: np.ndarray, max_pixel_value: int, path: Path, title: str = ""
) -> Path:
    """Two rows: inputs (rescaled to 0..255) and reconstructions, one column per image."""
    n = len(inputs)
    shown = (inputs.astype(np.float64) * (255.0 / max_pixel_value)).round().astype(np.uint8)
    fig, axes = new_figure("reconstructions", 2, n)
    for col in range(n):
        show_image(axes[0, col], shown[col])
        show_image(axes[1, col], reconstructions[col])
    axes[0, 0].set_ylabel("input")
    axes[1, 0].set_ylabel("reconstruction")
    fig.suptitle(title, fontsize=10)
    return save_png(fig, path)
