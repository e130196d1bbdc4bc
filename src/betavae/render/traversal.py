"""Latent traversals (Higgins et al. 2017, Figs. 1-4 and 7): decode while sweeping one latent at a time.

Rows are latents sorted by their average KL divergence from the prior
(:func:`betavae.evaluation.inference.kl_per_latent`), most informative first, so the
latents a beta-VAE switched off (KL near 0) sink to the bottom of the grid. Columns sweep the latent
either over `linspace(-limit, limit)` (the prior's scale) or over the range its posterior means take on
held-out images (where the model actually puts data). The other latents stay at the posterior mean of a
seed image; several seed images sit side by side.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from betavae.models.inputs import to_float_images
from betavae.models.vae import VAE
from betavae.render.figure import new_figure, save_png, to_intensities, to_uint8


def sweep_values(
    order: Sequence[int] | np.ndarray, steps: int, limit: float, ranges: np.ndarray | None = None
) -> np.ndarray:
    """Values (rows, steps): row r sweeps latent `order[r]` over ±limit, or over `ranges[latent]` = (lo, hi)."""
    if ranges is None:
        return np.tile(np.linspace(-limit, limit, steps), (len(order), 1))
    return np.stack([np.linspace(ranges[int(i), 0], ranges[int(i), 1], steps) for i in order])


def posterior_ranges(means: np.ndarray, quantile: float = 0.0) -> np.ndarray:
    """(d, 2) low/high of each latent's posterior means `means` (n, d), clipped at the given tail quantile."""
    return np.stack([np.quantile(means, quantile, axis=0), np.quantile(means, 1.0 - quantile, axis=0)], axis=1)


@torch.no_grad()
def traversal_grid(
    model: VAE,
    seed_image: np.ndarray,
    max_pixel_value: int,
    order: np.ndarray,
    limit: float,
    steps: int,
    values: np.ndarray | None = None,
) -> np.ndarray:
    """A uint8 image (rows*H, steps*W, C): row r sweeps latent `order[r]` over `values[r]`
    (default `linspace(-limit, limit, steps)`).

    The other latents stay at the posterior mean of `seed_image` (uint8 (H, W, C)).
    """
    model.eval()
    if values is None:
        values = sweep_values(order, steps, limit)
    x = to_float_images(torch.from_numpy(seed_image[None]), max_pixel_value)
    mu, _ = model.encode(x)  # (1, d)
    rows = []
    for r, latent in enumerate(order):
        z = mu.repeat(steps, 1)  # (steps, d)
        z[:, int(latent)] = torch.as_tensor(values[r], dtype=z.dtype)
        pixels = to_uint8(to_intensities(model.decode(z), model.config.likelihood))  # (steps, H, W, C)
        rows.append(np.concatenate(list(pixels), axis=1))  # (H, steps*W, C)
    return np.concatenate(rows, axis=0)


def save_traversal_png(
    grid: np.ndarray,
    path: Path,
    order: np.ndarray,
    kl: np.ndarray,
    limit: float,
    steps: int,
    repeats: int = 1,
    title: str = "",
    values: np.ndarray | None = None,
) -> Path:
    """Write the grid as a labelled PNG of the fixed `traversal` size, atomically.

    Rows are labelled with the latent index and its KL in nats; each row holds `repeats` traversals of
    `steps` images side by side (one per seed image). Columns are labelled with the swept value when every
    row sweeps the same values; with per-latent posterior ranges, each row label gives its range instead.
    """
    rows, columns = len(order), steps * repeats
    cell_h, cell_w = grid.shape[0] / rows, grid.shape[1] / columns
    fig, axes = new_figure("traversal")
    ax = axes[0, 0]
    image = grid[..., 0] if grid.shape[-1] == 1 else grid
    ax.imshow(
        image, cmap="gray" if grid.shape[-1] == 1 else None, vmin=0, vmax=255, interpolation="nearest", aspect="auto"
    )
    shared = values is None or np.allclose(values, values[:1])
    row_values = sweep_values(order, steps, limit) if values is None else values
    labels = []
    for r, i in enumerate(order):
        label = f"z{int(i)}  KL {kl[int(i)]:.2f}"
        if not shared:
            label += f"\n[{row_values[r, 0]:.1f}, {row_values[r, -1]:.1f}]"
        labels.append(label)
    ax.set_yticks([cell_h * (r + 0.5) for r in range(rows)])
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_ylabel("latent (sorted by KL, nats)")
    ax.set_xticks([cell_w * (c + 0.5) for c in range(columns)])
    if shared:
        ax.set_xticklabels([f"{v:.1f}" for v in np.tile(row_values[0], repeats)], fontsize=6)
        ax.set_xlabel(f"latent value, one sweep per seed image ({repeats})")
    else:
        ax.set_xticklabels([f"{q:.2f}" for q in np.tile(np.linspace(0, 1, steps), repeats)], fontsize=6)
        ax.set_xlabel(f"position in the latent's posterior range, one sweep per seed image ({repeats})")
    for k in range(1, repeats):
        ax.axvline(k * steps * cell_w - 0.5, color="red", linewidth=1)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return save_png(fig, path)
