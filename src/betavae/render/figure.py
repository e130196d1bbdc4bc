"""Shared drawing set-up: fixed picture sizes, headless matplotlib, atomic PNG output.

Every picture the project draws has a fixed size in pixels, listed in :data:`SIZES` (width, height), so
pictures of two runs line up side by side in the MLflow image view, `dvc plots diff` and the report.
Figures are drawn at :data:`DPI` and saved without `bbox_inches="tight"`, which would change the size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: stages run on workers without a display

import matplotlib.pyplot as plt
import numpy as np
import torch

from betavae.io import atomic_path

DPI = 100

#: (width, height) in pixels of every picture kind.
SIZES: dict[str, tuple[int, int]] = {
    "traversal": (1200, 900),
    "reconstructions": (1200, 400),
    "prior_samples": (800, 800),
    "kl_per_latent": (800, 400),
    "losses": (1000, 500),
    "factor_response": (1600, 1000),
    "latent_scatter": (800, 800),
    "decoded_grid": (800, 800),
    "class_samples": (800, 1000),
    "sweep_tradeoff": (1500, 500),
    "metric_vs_beta": (1500, 500),
    "score_distribution": (1500, 500),
    "normalised_beta": (1500, 500),
    "snapshot_pictures": (1500, 700),
    "over_training": (1500, 500),
}

# Matplotlib's deterministic output: no creation date or software version in the PNG metadata.
PNG_METADATA = {"Software": None}


def new_figure(kind: str, nrows: int = 1, ncols: int = 1, **kwargs: Any) -> tuple[plt.Figure, Any]:
    """A figure of the fixed size of `kind` with a grid of axes (`plt.subplots` arguments pass through)."""
    width, height = SIZES[kind]
    return plt.subplots(nrows, ncols, figsize=(width / DPI, height / DPI), dpi=DPI, squeeze=False, **kwargs)


def save_png(fig: plt.Figure, path: Path) -> Path:
    """Write `fig` as a PNG of exactly its figure size, atomically, and free it."""
    try:
        with atomic_path(Path(path)) as tmp:
            fig.savefig(tmp, format="png", dpi=DPI, metadata=PNG_METADATA)
    finally:
        plt.close(fig)
    return Path(path)


def to_intensities(decoded: torch.Tensor, likelihood: str) -> torch.Tensor:
    """Decoder output -> intensities in [0, 1]: logits for Bernoulli, means for Gaussian."""
    return torch.sigmoid(decoded) if likelihood == "bernoulli" else decoded.clamp(0.0, 1.0)


def to_uint8(intensities: torch.Tensor) -> np.ndarray:
    """Intensities in [0, 1], (B, C, H, W) -> uint8 images (B, H, W, C)."""
    return (intensities.permute(0, 2, 3, 1) * 255.0).round().clamp(0, 255).to(torch.uint8).numpy()


def show_image(ax: Any, image: np.ndarray) -> None:
    """Draw a uint8 (H, W, C) image (grey when C = 1) without ticks."""
    if image.shape[-1] == 1:
        ax.imshow(image[..., 0], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    else:
        ax.imshow(image, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def tile(images: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """uint8 images (rows * cols, H, W, C) -> one mosaic (rows * H, cols * W, C), row-major."""
    n, h, w, c = images.shape
    if n != rows * cols:
        raise ValueError(f"need {rows * cols} images for a {rows} x {cols} mosaic, got {n}")
    return images.reshape(rows, cols, h, w, c).transpose(0, 2, 1, 3, 4).reshape(rows * h, cols * w, c)
