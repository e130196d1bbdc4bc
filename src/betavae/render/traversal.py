"""Latent traversals (Higgins et al. 2017, Fig. 7): decode while sweeping one latent at a time.

Rows are latents sorted by their average KL divergence from the prior, most informative first, so the
latents a beta-VAE switched off (KL near 0) sink to the bottom of the grid.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from betavae.io import atomic_path
from betavae.training.engine import to_float_images


@torch.no_grad()
def kl_per_latent(model: torch.nn.Module, images: np.ndarray, max_pixel_value: int,
                  batch_size: int = 1024) -> np.ndarray:
    """Mean KL(q(z_i|x) || N(0, 1)) per latent over `images` (Kingma & Welling 2014, Appendix B)."""
    model.eval()
    total = None
    for start in range(0, len(images), batch_size):
        x = to_float_images(torch.from_numpy(images[start:start + batch_size]), max_pixel_value)
        mu, logvar = model.encode(x)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)  # (B, d)
        part = kl.sum(0).double()
        total = part if total is None else total + part
    return (total / len(images)).numpy()


def _to_pixels(recon: torch.Tensor, likelihood: str) -> torch.Tensor:
    """Decoder output -> intensities in [0, 1]: logits for Bernoulli, means for Gaussian."""
    return torch.sigmoid(recon) if likelihood == "bernoulli" else recon.clamp(0.0, 1.0)


@torch.no_grad()
def traversal_grid(model: torch.nn.Module, seed_image: np.ndarray, max_pixel_value: int,
                   order: np.ndarray, limit: float, steps: int) -> np.ndarray:
    """A uint8 image (rows*H, steps*W, C): row r sweeps latent `order[r]` over linspace(-limit, limit).

    The other latents stay at the posterior mean of `seed_image` (uint8 (H, W, C)).
    """
    model.eval()
    x = to_float_images(torch.from_numpy(seed_image[None]), max_pixel_value)
    mu, _ = model.encode(x)  # (1, d)
    values = torch.linspace(-limit, limit, steps)
    rows = []
    for latent in order:
        z = mu.repeat(steps, 1)  # (steps, d)
        z[:, int(latent)] = values
        pixels = _to_pixels(model.decode(z), model.config.likelihood)  # (steps, C, H, W)
        rows.append(torch.cat(list(pixels.permute(0, 2, 3, 1)), dim=1))  # (H, steps*W, C)
    grid = torch.cat(rows, dim=0)
    return (grid * 255.0).round().clamp(0, 255).to(torch.uint8).numpy()


def save_traversal_png(grid: np.ndarray, path: Path, order: np.ndarray, kl: np.ndarray, limit: float,
                       steps: int, repeats: int = 1, title: str = "") -> Path:
    """Write the grid as a labelled PNG (rows: latent index and its KL in nats), atomically.

    Each row holds `repeats` traversals of `steps` images side by side (one per seed image).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, columns = len(order), steps * repeats
    cell_h, cell_w = grid.shape[0] / rows, grid.shape[1] / columns
    fig, ax = plt.subplots(figsize=(1.5 + columns * 0.8, 0.6 + rows * 0.8), dpi=100)
    image = grid[..., 0] if grid.shape[-1] == 1 else grid
    ax.imshow(image, cmap="gray" if grid.shape[-1] == 1 else None, vmin=0, vmax=255, interpolation="nearest")
    ax.set_yticks([cell_h * (r + 0.5) for r in range(rows)])
    ax.set_yticklabels([f"z{int(i)}  KL {kl[int(i)]:.2f}" for i in order], fontsize=8)
    values = np.tile(np.linspace(-limit, limit, steps), repeats)
    ax.set_xticks([cell_w * (c + 0.5) for c in range(columns)])
    ax.set_xticklabels([f"{v:.1f}" for v in values], fontsize=6)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path
