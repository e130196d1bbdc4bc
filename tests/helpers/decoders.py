"""A decoder whose every output is known, for checking pictures pixel by pixel."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import torch


class KnownDecoder(torch.nn.Module):
    """encode: mu = (0.5, -1, 0), logvar = 0; decode: every pixel of the 2x3 image has logit z0 + 10*z1."""

    def __init__(self) -> None:
        super().__init__()
        self.config = SimpleNamespace(likelihood="bernoulli", latent_dim=3)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu = torch.tensor([[0.5, -1.0, 0.0]]).repeat(x.shape[0], 1)
        return mu, torch.zeros_like(mu)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        logit = z[:, 0] + 10.0 * z[:, 1]
        return logit[:, None, None, None].expand(-1, 1, 2, 3).clone()


def expected_pixel(logit: float) -> int:
    """The uint8 pixel a Bernoulli decoder with this logit renders."""
    return int(round(255.0 / (1.0 + np.exp(-logit))))
