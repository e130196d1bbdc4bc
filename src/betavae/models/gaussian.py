"""Diagonal Gaussian maths: reparameterised sampling, closed-form KL to N(0, I), log-densities."""

from __future__ import annotations

import math

import torch
from torch import Tensor

LOG_2PI = math.log(2.0 * math.pi)


def reparameterise(mu: Tensor, logvar: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Draw z = mu + exp(logvar / 2) * eps with eps ~ N(0, I) (Kingma & Welling 2014 Sec. 2.4).

    mu, logvar: (B, d). Returns z: (B, d), differentiable in mu and logvar.
    """
    eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + torch.exp(0.5 * logvar) * eps


def kl_normal_standard(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) per latent, in closed form.

    Implements Kingma & Welling 2014 Appendix B: -1/2 (1 + log sigma^2 - mu^2 - sigma^2), without the sum.
    mu, logvar: (B, d). Returns (B, d).
    """
    return 0.5 * (mu.pow(2) + torch.exp(logvar) - logvar - 1.0)


def log_normal_diag(z: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """Elementwise log N(z; mu, exp(logvar)); broadcasting shapes, no sum."""
    return -0.5 * (LOG_2PI + logvar + (z - mu).pow(2) * torch.exp(-logvar))


def log_standard_normal(z: Tensor) -> Tensor:
    """Elementwise log N(z; 0, 1); no sum."""
    return -0.5 * (LOG_2PI + z.pow(2))
