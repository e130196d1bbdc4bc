"""The VAE module: encoder, decoder, reparameterised sample and the pixel likelihood."""

from __future__ import annotations

import math
from typing import NamedTuple, cast

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


Condition = Tensor | int | None
"""The class c of a conditional VAE's images: (B,) integer classes, one class for the whole batch, or None
for an unconditional model."""


class VAE(nn.Module):
    """Gaussian-encoder VAE (Kingma & Welling 2014) with a Bernoulli or Gaussian pixel likelihood.

    With `condition_classes` K > 0 (`model.condition_on`) it is a conditional VAE (Singh 2018 Sec. 4.2,
    Sohn et al. 2015): the encoder is q(z|x, c), the decoder p(x|z, c), both reading the one-hot class c of
    each image, and the prior stays N(0, I) for every class (p(z|c) = p(z), as Sohn et al.'s baseline
    CVAE); every `encode`, `decode` and `forward` of such a model needs c, and an unconditional model
    refuses one. `config`, `observation_shape` (H, W, C) and `condition_classes` are kept so a checkpoint
    can rebuild the module.
    """

    def __init__(self, config: ModelConfig, observation_shape: tuple[int, ...], condition_classes: int = 0) -> None:
        super().__init__()
        self.config = config
        self.observation_shape = tuple(int(s) for s in observation_shape)
        self.latent_dim = config.latent_dim
        if (config.condition_on is None) != (condition_classes == 0) or condition_classes < 0:
            raise ValueError(
                f"model.condition_on {config.condition_on!r} needs condition_classes >= 1 (and an unconditional "
                f"model 0), got {condition_classes}"
            )
        self.condition_classes = int(condition_classes)
        self.encoder, self.decoder = build_networks(
            config.architecture, config.latent_dim, self.observation_shape, self.condition_classes
        )
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

    @property
    def conditional(self) -> bool:
        """True for a conditional VAE (`model.condition_on`)."""
        return self.condition_classes > 0

    def one_hot(self, c: Condition, batch: int, like: Tensor) -> Tensor | None:
        """The one-hot classes (B, K) in `like`'s dtype and device for a conditional model, None otherwise;
        raises ValueError when c is missing, given to an unconditional model, or not a class in 0..K-1."""
        if not self.conditional:
            if c is not None:
                raise ValueError("this model is not conditional (model.condition_on is null); pass no class")
            return None
        if c is None:
            raise ValueError(
                f"this model is a conditional VAE on {self.config.condition_on!r}: pass each image's class "
                f"(0..{self.condition_classes - 1})"
            )
        classes = torch.as_tensor(c, device=like.device)
        if classes.dim() == 0:
            classes = classes.expand(batch)
        if classes.shape != (batch,) or classes.is_floating_point() or classes.dtype == torch.bool:
            raise ValueError(f"expected {batch} integer classes, got {classes.dtype} of shape {tuple(classes.shape)}")
        if (
            batch
            and classes.device.type == "cpu"
            and (int(classes.min()) < 0 or int(classes.max()) >= self.condition_classes)
        ):
            raise ValueError(
                f"classes of {self.config.condition_on!r} must be in 0..{self.condition_classes - 1}, got "
                f"{int(classes.min())}..{int(classes.max())}"
            )
        return F.one_hot(classes.long(), self.condition_classes).to(like.dtype)

    def encode(self, x: Tensor, c: Condition = None) -> tuple[Tensor, Tensor]:
        """x: (B, C, H, W) floats in [0, 1] (and a conditional model's classes c) -> (mu, logvar), each (B, d).

        Binary images may also come as uint8 where the encoder reads them
        (:func:`betavae.models.inputs.encoder_input`)."""
        self._check_input(x)
        condition = self.one_hot(c, x.shape[0], x)
        h = self.encoder(x) if condition is None else self.encoder(x, condition)  # (B, 2 d)
        return h[:, : self.latent_dim], h[:, self.latent_dim :]

    def decode(self, z: Tensor, c: Condition = None) -> Tensor:
        """z: (B, d) (and a conditional model's classes c) -> recon (B, C, H, W): logits (Bernoulli) or
        means (Gaussian)."""
        condition = self.one_hot(c, z.shape[0], z)
        return self.decoder(z if condition is None else torch.cat([z, condition], 1))

    def forward(self, x: Tensor, generator: torch.Generator | None = None, c: Condition = None) -> VAEOutput:
        """Encode x (B, C, H, W), draw z ~ q(z|x) (q(z|x, c) for a conditional model) by
        reparameterisation, decode z.

        Returns VAEOutput(recon (B, C, H, W), mu (B, d), logvar (B, d), z (B, d)).
        """
        mu, logvar = self.encode(x, c)
        z = reparameterise(mu, logvar, generator)
        return VAEOutput(self.decode(z, c), mu, logvar, z)

    def given(self, c: int) -> VAE:
        """This conditional model with every image's class fixed to `c`: a view (:class:`GivenClass`) that
        encodes and decodes like an unconditional VAE, for the pictures and requests about one class."""
        self.one_hot(c, 1, torch.zeros(1))  # checks c
        return cast(VAE, GivenClass(self, int(c)))  # duck-typed: every reader of a VAE reads the view

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


class GivenClass(nn.Module):
    """A conditional VAE with the class of every image fixed (:meth:`VAE.given`): `encode(x)`, `decode(z)`
    and `forward(x)` as an unconditional VAE has them; the weights are the model's own, not a copy."""

    def __init__(self, model: VAE, c: int) -> None:
        super().__init__()
        self.model = model
        self.c = c
        self.config = model.config
        self.observation_shape = model.observation_shape
        self.latent_dim = model.latent_dim
        self.condition_classes = 0  # it takes no class per call

    @property
    def encoder(self) -> nn.Module:
        return self.model.encoder

    @property
    def decoder(self) -> nn.Module:
        return self.model.decoder

    @property
    def num_pixels(self) -> int:
        return self.model.num_pixels

    def _fixed(self, c: Condition) -> int:
        if c is not None:
            raise ValueError(f"this view has its class fixed to {self.c}; pass no class")
        return self.c

    def encode(self, x: Tensor, c: Condition = None) -> tuple[Tensor, Tensor]:
        return self.model.encode(x, self._fixed(c))

    def decode(self, z: Tensor, c: Condition = None) -> Tensor:
        return self.model.decode(z, self._fixed(c))

    def forward(self, x: Tensor, generator: torch.Generator | None = None, c: Condition = None) -> VAEOutput:
        return self.model(x, generator, self._fixed(c))

    def reconstruction_nll(self, recon: Tensor, x: Tensor) -> Tensor:
        return self.model.reconstruction_nll(recon, x)

    def mean_image(self, recon: Tensor) -> Tensor:
        return self.model.mean_image(recon)


def build_model(cfg: ModelConfig, observation_shape: tuple[int, ...], condition_classes: int = 0) -> VAE:
    """Build the VAE described by `cfg` for images of shape (H, W, C); a conditional one (`cfg.condition_on`)
    with `condition_classes` classes."""
    return VAE(cfg, observation_shape, condition_classes)
