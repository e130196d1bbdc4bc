"""Samples from the model's prior, decoded: what the generative model imagines on its own.

The prior is N(0, I) for every objective except ISA-VAE, which samples from its own L^p-nested ISA
prior (Stuhmer et al. 2020, Algorithm 1; :class:`betavae.models.priors.LpNestedISA`), with the learned
exponents when it learned them. Picture size: `SIZES["prior_samples"]` (800 x 800 pixels, 8 x 8 samples).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from betavae.models.priors import LpNestedISA
from betavae.models.registry import build_objective
from betavae.models.vae import VAE
from betavae.render.figure import (
    new_figure,
    save_png,
    show_image,
    tile,
    to_intensities,
    to_uint8,
)

GRID = 8


def prior_of(run: Any, objective_state: Mapping[str, torch.Tensor] | None) -> LpNestedISA | None:
    """The objective's own prior module (ISA-VAE's `LpNestedISA`), or None for the standard normal."""
    objective = build_objective(run.objective, run.model.latent_dim, 1)
    prior = getattr(objective, "prior", None)
    if prior is not None and objective_state:
        prior_state = {k.removeprefix("prior."): v for k, v in objective_state.items() if k.startswith("prior.")}
        if prior_state:
            prior.load_state_dict(prior_state)
    return prior


@torch.no_grad()
def sample_prior(prior: LpNestedISA | None, n: int, latent_dim: int, generator: torch.Generator) -> torch.Tensor:
    """n latent draws (n, latent_dim) from `prior` (None: N(0, I)), reproducible through `generator`."""
    if prior is None:
        return torch.randn((n, latent_dim), generator=generator)
    return prior.sample(n, generator=generator).float()


@torch.no_grad()
def decode_samples(model: VAE, z: torch.Tensor) -> np.ndarray:
    """Decoded intensities of latents z (n, d) as uint8 images (n, H, W, C)."""
    model.eval()
    return to_uint8(to_intensities(model.decode(z), model.config.likelihood))


def save_samples_png(images: np.ndarray, path: Path, title: str = "") -> Path:
    """An 8 x 8 mosaic of decoded prior samples (uint8 (64, H, W, C))."""
    fig, axes = new_figure("prior_samples")
    show_image(axes[0, 0], tile(images[: GRID * GRID], GRID, GRID))
    axes[0, 0].set_title(title, fontsize=10)
    fig.tight_layout()
    return save_png(fig, path)
