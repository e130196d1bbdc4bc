"""The VAE module: encoder, decoder, reparameterised sample and the pixel likelihood."""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from betavae.config.model import ModelConfig
from betavae.models.architectures import build_networks
from betavae.models.gaussian import LOG_2PI, reparameterise


class VAEOutput(NamedTuple):
    """recon: (B, C, H, W) logits (Bernoulli) or means (Gaussian); mu, logvar, z: (B, d)."""

    recon: Tensor
    mu: Tensor
    logvar: Tensor
    z: Tensor


class VAE(nn.Module):
    """Gaussian-encoder VAE (Kingma & Welling 2014) with a Bernoulli or Gaussian pixel likelihood.

    `config` and `observation_shape` (H, W, C) are kept so a checkpoint can rebuild the module.
    """

    def __init__(self, config: ModelConfig, observation_shape: tuple[int, ...]) -> None:
        super().__init__()
        self.config = config
        self.observation_shape = tuple(int(s) for s in observation_shape)
        self.latent_dim = config.latent_dim
        self.encoder, self.decoder = build_networks(config.architecture, config.latent_dim, self.observation_shape)
        channels = self.observation_shape[2]
        if config.likelihood == "gaussian" and config.gaussian_variance == "learned":
            # One log standard deviation per channel, shared over pixels.
            self.log_scale = nn.Parameter(torch.zeros(channels))
        else:
            self.register_parameter("log_scale", None)

    def _check_input(self, x: Tensor) -> None:
        h, w, c = self.observation_shape
        if x.dim() != 4 or tuple(x.shape[1:]) != (c, h, w):
            raise ValueError(f"expected x of shape (B, {c}, {h}, {w}), got {tuple(x.shape)}")

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x: (B, C, H, W) floats in [0, 1] -> (mu, logvar), each (B, d).

        Binary images may also come as uint8 where the encoder reads them
        (:func:`betavae.models.inputs.encoder_input`)."""
        self._check_input(x)
        h = self.encoder(x)  # (B, 2 d)
        return h[:, : self.latent_dim], h[:, self.latent_dim :]

    def decode(self, z: Tensor) -> Tensor:
        """z: (B, d) -> recon (B, C, H, W): logits (Bernoulli) or means (Gaussian)."""
        return self.decoder(z)

    def forward(self, x: Tensor, generator: torch.Generator | None = None) -> VAEOutput:
        """Encode x (B, C, H, W), draw z ~ q(z|x) by reparameterisation, decode z.

        Returns VAEOutput(recon (B, C, H, W), mu (B, d), logvar (B, d), z (B, d)).
        """
        mu, logvar = self.encode(x)
        z = reparameterise(mu, logvar, generator)
        return VAEOutput(self.decode(z), mu, logvar, z)

    def reconstruction_nll(self, recon: Tensor, x: Tensor) -> Tensor:
        """-log p(x|z) per image, summed over pixels and channels: (B,).

        Bernoulli: binary cross-entropy with logits (x may be grey levels in [0, 1]).
        Gaussian: 1/2 ((x - m)^2 / s^2 + log s^2 + log 2 pi), s = 1 ("fixed") or exp(log_scale) ("learned").
        """
        if self.config.likelihood == "bernoulli":
            nll = F.binary_cross_entropy_with_logits(recon, x, reduction="none")
        elif self.log_scale is None:
            nll = 0.5 * ((x - recon).pow(2) + LOG_2PI)
        else:
            log_scale = self.log_scale.view(1, -1, 1, 1)
            nll = 0.5 * (x - recon).pow(2) * torch.exp(-2.0 * log_scale) + log_scale + 0.5 * LOG_2PI
        return nll.flatten(1).sum(1)

    def mean_image(self, recon: Tensor) -> Tensor:
        """The mean of p(x|z): sigmoid(logits) for Bernoulli, the means themselves for Gaussian."""
        return torch.sigmoid(recon) if self.config.likelihood == "bernoulli" else recon

    @property
    def num_pixels(self) -> int:
        return math.prod(self.observation_shape)


def build_model(cfg: ModelConfig, observation_shape: tuple[int, ...]) -> VAE:
    """Build the VAE described by `cfg` for images of shape (H, W, C)."""
    return VAE(cfg, observation_shape)
