"""The `model:` section of `params.yaml`: architecture, latent size and likelihood.

A frozen dataclass validated on construction; every error is a `ConfigError` that names the
`params.yaml` key, the offending value and what was expected. The objective's keys of `train:` are
:mod:`betavae.config.objectives`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from betavae.config.validation import from_mapping, require_choice, require_int
from betavae.errors import ConfigError

ARCHITECTURES: tuple[str, ...] = ("mlp64", "mlp64-narrow", "conv64", "mlp28")
LIKELIHOODS: tuple[str, ...] = ("bernoulli", "gaussian")
GAUSSIAN_VARIANCES: tuple[str, ...] = ("fixed", "learned")


@dataclass(frozen=True)
class ModelConfig:
    """The `model:` section of `params.yaml`.

    architecture: "mlp64" (Higgins et al. 2017 Appendix A, 2D shapes), "mlp64-narrow" (the same layout with
        400 hidden units instead of 1200: a CPU budget), "conv64" (Burgess et al. 2018 /
        Higgins et al. 2017 conv net for 64x64 images with any channel count), "mlp28" (28x28 images).
    latent_dim: number of latent dimensions d >= 1.
    likelihood: "bernoulli" (decoder outputs logits) or "gaussian" (decoder outputs means).
    gaussian_variance: for the Gaussian likelihood, "fixed" (unit variance) or "learned" (one log standard
        deviation per channel, shared over pixels, trained with the model). Ignored for "bernoulli".
    condition_on: None, or the name of a factor of the dataset (e.g. "label"): a conditional VAE whose
        encoder q(z|x, c) and decoder p(x|z, c) both read that factor's class c of each image, one-hot
        (Singh 2018 Sec. 4.2; Sohn et al. 2015). Its number of classes comes from the dataset.
    """

    architecture: str
    latent_dim: int
    likelihood: str = "bernoulli"
    gaussian_variance: str = "fixed"
    condition_on: str | None = None

    def __post_init__(self) -> None:
        require_choice("model.architecture", self.architecture, ARCHITECTURES, "architecture")
        require_int("model.latent_dim", self.latent_dim, 1)
        require_choice("model.likelihood", self.likelihood, LIKELIHOODS, "likelihood")
        require_choice("model.gaussian_variance", self.gaussian_variance, GAUSSIAN_VARIANCES, "Gaussian variance mode")
        if self.condition_on is not None and (not isinstance(self.condition_on, str) or not self.condition_on):
            raise ConfigError(
                f"model.condition_on must be null or the name of a factor of the dataset (e.g. label), "
                f"got {self.condition_on!r}"
            )

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelConfig:
        """Build from the `model:` mapping; unknown or missing keys raise ConfigError naming `model.<key>`."""
        return from_mapping(cls, "model", d)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        if out["condition_on"] is None:
            del out["condition_on"]  # an unconditional model: configurations and digests stay as they were
        return out
