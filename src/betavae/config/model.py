"""Model and objective configuration, built from the `model:` and `train:` sections of `params.yaml`.

Both configs are frozen dataclasses validated on construction; every error is a `ConfigError` that names
the `params.yaml` key, the offending value and what was expected.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from betavae.config.validation import (
    from_mapping,
    require_bool,
    require_choice,
    require_int,
    require_number,
)
from betavae.errors import ConfigError

ARCHITECTURES: tuple[str, ...] = ("mlp64", "conv64", "mlp28")
LIKELIHOODS: tuple[str, ...] = ("bernoulli", "gaussian")
GAUSSIAN_VARIANCES: tuple[str, ...] = ("fixed", "learned")

OBJECTIVES: tuple[str, ...] = (
    "ae",
    "vae",
    "beta_vae",
    "beta_vae_b",
    "beta_tcvae",
    "factor_vae",
    "isa_vae",
    "denoising_ae",
    "sparse_ae",
    "k_sparse_ae",
    "contractive_ae",
)
TC_ESTIMATORS: tuple[str, ...] = ("mss", "mws")


@dataclass(frozen=True)
class ModelConfig:
    """The `model:` section of `params.yaml`.

    architecture: "mlp64" (Higgins et al. 2017 Appendix A, 2D shapes), "conv64" (Burgess et al. 2018 /
        Higgins et al. 2017 conv net for 64x64 images with any channel count), "mlp28" (28x28 images).
    latent_dim: number of latent dimensions d >= 1.
    likelihood: "bernoulli" (decoder outputs logits) or "gaussian" (decoder outputs means).
    gaussian_variance: for the Gaussian likelihood, "fixed" (unit variance) or "learned" (one log standard
        deviation per channel, shared over pixels, trained with the model). Ignored for "bernoulli".
    """

    architecture: str
    latent_dim: int
    likelihood: str = "bernoulli"
    gaussian_variance: str = "fixed"

    def __post_init__(self) -> None:
        require_choice("model.architecture", self.architecture, ARCHITECTURES, "architecture")
        require_int("model.latent_dim", self.latent_dim, 1)
        require_choice("model.likelihood", self.likelihood, LIKELIHOODS, "likelihood")
        require_choice("model.gaussian_variance", self.gaussian_variance, GAUSSIAN_VARIANCES,
                       "Gaussian variance mode")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelConfig:
        """Build from the `model:` mapping; unknown or missing keys raise ConfigError naming `model.<key>`."""
        return from_mapping(cls, "model", d)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class ObjectiveConfig:
    """The objective's keys of the `train:` section of `params.yaml` (see OBJECTIVE_KEYS).

    objective: one of OBJECTIVES.
    beta: KL weight of "beta_vae" (Higgins et al. 2017 Eq. 4) and "isa_vae"; TC weight of "beta_tcvae"
        (Chen et al. 2018 Eq. 4). "ae" always uses 0 and "vae" always uses 1, whatever this says.
    gamma: capacity weight of "beta_vae_b" (Burgess et al. 2018 Eq. 8), TC weight of "factor_vae"
        (Kim & Mnih 2018 Eq. 2), dimension-wise KL weight of "beta_tcvae".
    alpha: index-code mutual information weight of "beta_tcvae".
    capacity_max, capacity_steps: the linear capacity schedule C(step) of "beta_vae_b" (nats, steps).
    tc_estimator: "mss" (minibatch stratified sampling) or "mws" (minibatch weighted sampling), Chen et al.
        2018 Sec. 4.1 and Appendix C.
    discriminator_lr, discriminator_beta1, discriminator_beta2: Adam settings for the FactorVAE
        discriminator (Kim & Mnih 2018 use 1e-4, 0.5, 0.9); read by the training engine.
    isa_layout: subspace sizes of the L^p-nested ISA prior (Stuhmer et al. 2020); they must sum to the
        latent size; None puts every latent in its own subspace.
    isa_p0, isa_p: outer and inner exponents of the L^p-nested prior (2, 2 is the standard normal).
    isa_learn_exponents: learn p0 and p with the model (kept positive by an exp parametrisation).
    corruption: fraction of pixels set to 0 (masking noise) by "denoising_ae" (Vincent et al. 2008).
    sparsity_weight: weight of the L1 penalty on the codes of "sparse_ae".
    sparsity_k: number of code units kept by "k_sparse_ae" (Makhzani & Frey 2013).
    contractive_weight: weight of the squared Frobenius norm of the encoder Jacobian of "contractive_ae"
        (Rifai et al. 2011 Eq. 2).
    """

    objective: str
    beta: float = 1.0
    gamma: float = 1.0
    alpha: float = 1.0
    capacity_max: float = 25.0
    capacity_steps: int = 100_000
    tc_estimator: str = "mss"
    discriminator_lr: float = 1e-4
    discriminator_beta1: float = 0.5
    discriminator_beta2: float = 0.9
    isa_layout: tuple[int, ...] | None = None
    isa_p0: float = 2.0
    isa_p: float = 2.0
    isa_learn_exponents: bool = False
    corruption: float = 0.1
    sparsity_weight: float = 1e-3
    sparsity_k: int = 5
    contractive_weight: float = 1e-3

    def __post_init__(self) -> None:
        require_choice("train.objective", self.objective, OBJECTIVES, "objective")
        for key in ("beta", "gamma", "alpha", "capacity_max", "sparsity_weight", "contractive_weight"):
            require_number(f"train.{key}", getattr(self, key), 0.0)
        require_int("train.capacity_steps", self.capacity_steps, 1)
        require_choice("train.tc_estimator", self.tc_estimator, TC_ESTIMATORS, "TC estimator")
        require_number("train.discriminator_lr", self.discriminator_lr, 0.0, exclusive=True)
        require_number("train.discriminator_beta1", self.discriminator_beta1, 0.0, maximum=1.0, max_exclusive=True)
        require_number("train.discriminator_beta2", self.discriminator_beta2, 0.0, maximum=1.0, max_exclusive=True)
        if self.isa_layout is not None:
            if isinstance(self.isa_layout, (str, bytes)) or not isinstance(self.isa_layout, Sequence):
                raise ConfigError(f"train.isa_layout must be a list of subspace sizes, got {self.isa_layout!r}")
            if len(self.isa_layout) == 0 or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in self.isa_layout):
                raise ConfigError(
                    f"train.isa_layout must be a non-empty list of integers >= 1, got {self.isa_layout!r}")
            object.__setattr__(self, "isa_layout", tuple(int(n) for n in self.isa_layout))
        require_number("train.isa_p0", self.isa_p0, 0.0, exclusive=True)
        require_number("train.isa_p", self.isa_p, 0.0, exclusive=True)
        require_bool("train.isa_learn_exponents", self.isa_learn_exponents)
        require_number("train.corruption", self.corruption, 0.0, maximum=1.0, max_exclusive=True)
        require_int("train.sparsity_k", self.sparsity_k, 1)
        for key in ("beta", "gamma", "alpha", "capacity_max", "sparsity_weight", "contractive_weight",
                    "discriminator_lr", "discriminator_beta1", "discriminator_beta2", "isa_p0", "isa_p",
                    "corruption"):
            object.__setattr__(self, key, float(getattr(self, key)))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ObjectiveConfig:
        """Build from the objective keys of `train:`; unknown or bad keys raise ConfigError naming `train.<key>`."""
        return from_mapping(cls, "train", d)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        if out["isa_layout"] is not None:
            out["isa_layout"] = list(out["isa_layout"])
        return out

    @property
    def kl_weight(self) -> float:
        """The constant KL weight of the beta-VAE family: 0 for "ae", 1 for "vae", `beta` otherwise."""
        if self.objective == "ae":
            return 0.0
        if self.objective == "vae":
            return 1.0
        return self.beta


OBJECTIVE_KEYS: frozenset[str] = frozenset(f.name for f in fields(ObjectiveConfig))
