"""Model and objective configuration, built from the `model:` and `train:` sections of `params.yaml`.

Both configs are frozen dataclasses validated on construction; every error is a `ConfigError` that names
the `params.yaml` key, the offending value and what was expected.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

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


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_choice(key: str, value: Any, choices: Sequence[str], what: str) -> None:
    if value not in choices:
        raise ConfigError(f"{key}: unknown {what} {value!r}; expected one of {', '.join(choices)}")


def _check_number(key: str, value: Any, *, low: float | None = None, strict: bool = False,
                  high: float | None = None, high_strict: bool = False) -> None:
    if not _is_number(value) or not math.isfinite(float(value)):
        raise ConfigError(f"{key} must be a finite number, got {value!r}")
    v = float(value)
    if low is not None and (v <= low if strict else v < low):
        raise ConfigError(f"{key} must be {'>' if strict else '>='} {low}, got {value!r}")
    if high is not None and (v >= high if high_strict else v > high):
        raise ConfigError(f"{key} must be {'<' if high_strict else '<='} {high}, got {value!r}")


def _check_int(key: str, value: Any, *, low: int) -> None:
    if not _is_int(value):
        raise ConfigError(f"{key} must be an integer, got {value!r}")
    if value < low:
        raise ConfigError(f"{key} must be >= {low}, got {value!r}")


def _from_mapping(cls: type, section: str, d: Mapping[str, Any]) -> Any:
    if not isinstance(d, Mapping):
        raise ConfigError(f"{section} must be a mapping, got {type(d).__name__}")
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise ConfigError(
            f"{section}: unknown key(s) {', '.join(f'{section}.{k}' for k in unknown)}; "
            f"expected some of {', '.join(sorted(names))}"
        )
    required = [f.name for f in fields(cls)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    missing = [k for k in required if k not in d]
    if missing:
        raise ConfigError(f"{section}: missing required key(s) {', '.join(f'{section}.{k}' for k in missing)}")
    return cls(**dict(d))


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
        _check_choice("model.architecture", self.architecture, ARCHITECTURES, "architecture")
        _check_int("model.latent_dim", self.latent_dim, low=1)
        _check_choice("model.likelihood", self.likelihood, LIKELIHOODS, "likelihood")
        _check_choice("model.gaussian_variance", self.gaussian_variance, GAUSSIAN_VARIANCES,
                      "Gaussian variance mode")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelConfig:
        """Build from the `model:` mapping; unknown or missing keys raise ConfigError naming `model.<key>`."""
        return _from_mapping(cls, "model", d)

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
        _check_choice("train.objective", self.objective, OBJECTIVES, "objective")
        for key in ("beta", "gamma", "alpha", "capacity_max", "sparsity_weight", "contractive_weight"):
            _check_number(f"train.{key}", getattr(self, key), low=0.0)
        _check_int("train.capacity_steps", self.capacity_steps, low=1)
        _check_choice("train.tc_estimator", self.tc_estimator, TC_ESTIMATORS, "TC estimator")
        _check_number("train.discriminator_lr", self.discriminator_lr, low=0.0, strict=True)
        _check_number("train.discriminator_beta1", self.discriminator_beta1, low=0.0, high=1.0, high_strict=True)
        _check_number("train.discriminator_beta2", self.discriminator_beta2, low=0.0, high=1.0, high_strict=True)
        if self.isa_layout is not None:
            if isinstance(self.isa_layout, (str, bytes)) or not isinstance(self.isa_layout, Sequence):
                raise ConfigError(f"train.isa_layout must be a list of subspace sizes, got {self.isa_layout!r}")
            if len(self.isa_layout) == 0 or not all(_is_int(n) and n >= 1 for n in self.isa_layout):
                raise ConfigError(
                    f"train.isa_layout must be a non-empty list of integers >= 1, got {self.isa_layout!r}")
            object.__setattr__(self, "isa_layout", tuple(int(n) for n in self.isa_layout))
        _check_number("train.isa_p0", self.isa_p0, low=0.0, strict=True)
        _check_number("train.isa_p", self.isa_p, low=0.0, strict=True)
        if not isinstance(self.isa_learn_exponents, bool):
            raise ConfigError(f"train.isa_learn_exponents must be true or false, got {self.isa_learn_exponents!r}")
        _check_number("train.corruption", self.corruption, low=0.0, high=1.0, high_strict=True)
        _check_int("train.sparsity_k", self.sparsity_k, low=1)
        for key in ("beta", "gamma", "alpha", "capacity_max", "sparsity_weight", "contractive_weight",
                    "discriminator_lr", "discriminator_beta1", "discriminator_beta2", "isa_p0", "isa_p",
                    "corruption"):
            object.__setattr__(self, key, float(getattr(self, key)))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ObjectiveConfig:
        """Build from the objective keys of `train:`; unknown or bad keys raise ConfigError naming `train.<key>`."""
        return _from_mapping(cls, "train", d)

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
