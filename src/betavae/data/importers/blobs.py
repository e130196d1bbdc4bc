"""Procedural Gaussian blobs: a small, fast dataset with two position factors on a complete grid.

One isotropic Gaussian bump per image, its centre on a ``grid_x`` x ``grid_y`` lattice of positions,
like the posX/posY factors of dSprites (Matthey et al. 2017) without shape, scale or rotation. With
only two factors and 1024 images it trains in seconds, which makes it the smoke-test dataset of the
pipeline; a model that disentangles should find exactly two informative latents.

Pixel (row r, column c) of the image with centre (cx, cy) is
``round(255 * exp(-((c - cx)^2 + (r - cy)^2) / (2 sigma^2)))``.
"""

from __future__ import annotations

import numpy as np

from betavae.data.importers.base import ImportedData
from betavae.errors import ConfigError

__all__ = ["FACTOR_NAMES", "blob_centres", "render_blobs"]

FACTOR_NAMES = ("posX", "posY")


def blob_centres(count: int, image_size: int, margin: float) -> np.ndarray:
    """Pixel coordinates of ``count`` evenly spaced centres between ``margin`` and ``size - 1 - margin``."""
    return np.linspace(margin, image_size - 1 - margin, count)


def render_blobs(
    grid: tuple[int, int] = (32, 32),
    image_size: int = 64,
    sigma: float = 3.0,
    margin: float | None = None,
) -> ImportedData:
    """Render every blob position of the grid, ordered row-major over (posX, posY).

    Args:
        grid: number of positions along x (columns) and y (rows), each >= 2.
        image_size: side of the square grayscale images, >= 8.
        sigma: standard deviation of the Gaussian in pixels, > 0.
        margin: distance of the outermost centres from the border; defaults to ``2 * sigma``.

    Returns:
        uint8 images (gx * gy, size, size, 1); factor values are positions normalised to [0, 1].
    """
    gx, gy = (int(g) for g in grid)
    if gx < 2 or gy < 2:
        raise ConfigError(f"blobs grid must have >= 2 positions per axis, got {grid}")
    if image_size < 8:
        raise ConfigError(f"blobs image_size must be >= 8, got {image_size}")
    if not sigma > 0:
        raise ConfigError(f"blobs sigma must be > 0, got {sigma}")
    margin = 2.0 * sigma if margin is None else float(margin)
    if not 0 <= margin < (image_size - 1) / 2:
        raise ConfigError(f"blobs margin must be in [0, {(image_size - 1) / 2}), got {margin}")
    pixels = np.arange(image_size, dtype=np.float64)
    # The 2-D Gaussian is separable: profile_x[c] * profile_y[r].
    profile_x = np.exp(-((pixels[None, :] - blob_centres(gx, image_size, margin)[:, None]) ** 2) / (2 * sigma**2))
    profile_y = np.exp(-((pixels[None, :] - blob_centres(gy, image_size, margin)[:, None]) ** 2) / (2 * sigma**2))
    # (gx, gy, rows, cols): image (i, j) has its centre at column centre_x[i], row centre_y[j].
    field = profile_y[None, :, :, None] * profile_x[:, None, None, :]
    images = np.rint(255.0 * field).astype(np.uint8).reshape(gx * gy, image_size, image_size, 1)
    ix, iy = np.meshgrid(np.arange(gx), np.arange(gy), indexing="ij")
    classes = np.stack([ix.ravel(), iy.ravel()], axis=1).astype(np.int64)
    return ImportedData(
        images=images,
        factor_names=FACTOR_NAMES,
        factor_sizes=(gx, gy),
        factor_values=(np.linspace(0.0, 1.0, gx), np.linspace(0.0, 1.0, gy)),
        factor_classes=classes,
        binary=False,
        complete_grid=True,
        extra={"sigma": float(sigma), "margin": margin, "image_size": image_size},
    )
