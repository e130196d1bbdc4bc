"""The objective's keys of `params.yaml: train`: one frozen config per objective, keyed by name.

`train.objective` picks the class; every other objective key must belong to it, so `beta` given to
`ae` (whose KL weight is 0 by definition) is an error rather than silently ignored. Each error names the
`train.<key>`. The objectives themselves are in :mod:`betavae.models` (registry: :mod:`betavae.models.registry`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from betavae.config.validation import (
    check_keys,
    require_bool,
    require_choice,
    require_int,
    require_number,
)
from betavae.errors import ConfigError

TC_ESTIMATORS: tuple[str, ...] = ("mss", "mws")
SCHEDULE_KINDS: tuple[str, ...] = ("linear", "cyclic")


@dataclass(frozen=True)
class BetaSchedule:
    """`train.beta_schedule`: a factor in [start, 1] on the objective's beta, a pure function of the step.

    linear: rises from `start` at step 0 to 1 at step `steps` and stays there: KL cost annealing (Bowman
      et al. 2016 Sec. 3.1) and the beta warm-up of Chen et al. 2018's released code (0 -> 1 over 7,000
      of 18,000 steps on dSprites).
    cyclic: repeats every `steps` steps; within a period it rises from `start` to 1 over the first `ramp`
      fraction and stays at 1 for the rest (Fu et al. 2019 Eq. 6, their R = `ramp`).
    """

    kind: str
    steps: int
    start: float = 0.0
    ramp: float | None = None

    def __post_init__(self) -> None:
        require_choice("train.beta_schedule.kind", self.kind, SCHEDULE_KINDS, "schedule")
        require_int("train.beta_schedule.steps", self.steps, 1)
        object.__setattr__(self, "start", require_number("train.beta_schedule.start", self.start, 0.0, maximum=1.0))
        if self.kind == "linear":
            if self.ramp is not None:
                raise ConfigError("train.beta_schedule.ramp: only a cyclic schedule takes a ramp fraction")
            return
        ramp = 0.5 if self.ramp is None else self.ramp  # Fu et al. 2019 use R = 0.5
        object.__setattr__(
            self, "ramp", require_number("train.beta_schedule.ramp", ramp, 0.0, exclusive=True, maximum=1.0)
        )

    @classmethod
    def from_value(cls, value: Any) -> BetaSchedule | None:
        """The schedule for a `train.beta_schedule` value: None (constant beta), a mapping or a schedule."""
        if value is None or isinstance(value, BetaSchedule):
            return value
        if not isinstance(value, Mapping):
            raise ConfigError(
                f"train.beta_schedule must be a mapping such as {{kind: linear, steps: 2000}}, got {value!r}"
            )
        check_keys("train.beta_schedule", value, {f.name for f in dataclasses.fields(cls)})
        if "kind" not in value or "steps" not in value:
            raise ConfigError(f"train.beta_schedule needs kind and steps, got {dict(value)!r}")
        return cls(**value)


@dataclass(frozen=True)
class ObjectiveConfig:
    """Base of the per-objective configs; `name` is the `train.objective` value that selects the class."""

    name: ClassVar[str] = ""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            if f.type in (float, "float"):
                object.__setattr__(self, f.name, require_number(f"train.{f.name}", getattr(self, f.name), 0.0))

    @property
    def objective(self) -> str:
        """The objective's name, e.g. `beta_vae`."""
        return self.name

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"objective": self.name, **dataclasses.asdict(self)}
        if out.get("beta_schedule", "absent") is None:
            del out["beta_schedule"]  # a constant beta: configurations and digests stay as they were
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, lenient: bool = False) -> ObjectiveConfig:
        """Build the config named by `d["objective"]` from the objective keys of `train:`.

        A key of another objective is an error naming the objectives it belongs to; with `lenient`
        (configurations stored by earlier versions, which recorded every objective's key) it is dropped.
        """
        if not isinstance(d, Mapping):
            raise ConfigError(f"train must be a mapping, got {type(d).__name__}")
        if "objective" not in d:
            raise ConfigError("train: missing required key(s) train.objective")
        name = require_choice("train.objective", d["objective"], OBJECTIVES, "objective")
        config_cls = OBJECTIVE_CONFIGS[name]
        own = {f.name for f in dataclasses.fields(config_cls)}
        settings = {k: v for k, v in d.items() if k != "objective"}
        foreign = sorted(k for k in settings if k not in own and k in OBJECTIVE_KEYS)
        if foreign and not lenient:
            owners = "; ".join(f"{k} belongs to {', '.join(_owners(k))}" for k in foreign)
            raise ConfigError(
                f"{', '.join(f'train.{k}' for k in foreign)}: not a setting of train.objective {name!r} "
                f"({owners}); remove it or change train.objective"
            )
        settings = {k: v for k, v in settings.items() if k not in foreign}
        check_keys("train", settings, own | {"objective"})
        return config_cls(**settings)


@dataclass(frozen=True)
class ScheduledBetaConfig(ObjectiveConfig):
    """Base of the objectives with a beta: `beta_schedule` (None: constant) scales it over training."""

    beta_schedule: BetaSchedule | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "beta_schedule", BetaSchedule.from_value(self.beta_schedule))


@dataclass(frozen=True)
class AEConfig(ObjectiveConfig):
    """`ae`: reconstruction alone (still through a sampled code): the beta-VAE with beta = 0."""

    name: ClassVar[str] = "ae"
    kl_weight: ClassVar[float] = 0.0  # the constant KL weight of the beta-VAE family


@dataclass(frozen=True)
class VAEConfig(ScheduledBetaConfig):
    """`vae`: the negative ELBO (Kingma & Welling 2014 Eq. 10): the beta-VAE with beta = 1."""

    name: ClassVar[str] = "vae"
    kl_weight: ClassVar[float] = 1.0


@dataclass(frozen=True)
class BetaVAEConfig(ScheduledBetaConfig):
    """`beta_vae`: recon + beta * KL (Higgins et al. 2017 Eq. 4)."""

    name: ClassVar[str] = "beta_vae"
    beta: float = 1.0

    @property
    def kl_weight(self) -> float:
        """The constant KL weight: `beta`."""
        return self.beta


@dataclass(frozen=True)
class CapacityConfig(ObjectiveConfig):
    """`beta_vae_b`: recon + gamma * |KL - C(step)|, C rising linearly to `capacity_max` nats over
    `capacity_steps` steps (Burgess et al. 2018 Eq. 8)."""

    name: ClassVar[str] = "beta_vae_b"
    gamma: float = 1.0
    capacity_max: float = 25.0
    capacity_steps: int = 100_000

    def __post_init__(self) -> None:
        super().__post_init__()
        require_int("train.capacity_steps", self.capacity_steps, 1)


@dataclass(frozen=True)
class BetaTCVAEConfig(ScheduledBetaConfig):
    """`beta_tcvae`: recon + alpha * MI + beta * TC + gamma * dimension-wise KL (Chen et al. 2018 Eq. 4);
    log q(z) by minibatch stratified (`mss`) or weighted (`mws`) sampling (Sec. 4.1, Appendix C)."""

    name: ClassVar[str] = "beta_tcvae"
    alpha: float = 1.0
    beta: float = 1.0
    gamma: float = 1.0
    tc_estimator: str = "mss"

    def __post_init__(self) -> None:
        super().__post_init__()
        require_choice("train.tc_estimator", self.tc_estimator, TC_ESTIMATORS, "TC estimator")


@dataclass(frozen=True)
class FactorVAEConfig(ObjectiveConfig):
    """`factor_vae`: recon + KL + gamma * TC with a discriminator (Kim & Mnih 2018 Eq. 2), trained by its
    own Adam (they use learning rate 1e-4, betas 0.5 and 0.9); the training engine reads these."""

    name: ClassVar[str] = "factor_vae"
    gamma: float = 1.0
    discriminator_lr: float = 1e-4
    discriminator_beta1: float = 0.5
    discriminator_beta2: float = 0.9

    def __post_init__(self) -> None:
        super().__post_init__()
        require_number("train.discriminator_lr", self.discriminator_lr, 0.0, exclusive=True)
        for key in ("discriminator_beta1", "discriminator_beta2"):
            require_number(f"train.{key}", getattr(self, key), 0.0, maximum=1.0, max_exclusive=True)


@dataclass(frozen=True)
class ISAVAEConfig(ScheduledBetaConfig):
    """`isa_vae`: recon + beta * KL to the L^p-nested ISA prior (Stuhmer et al. 2020 Eq. 12).

    isa_layout: subspace sizes, summing to the latent size; None puts every latent in its own subspace.
    isa_p0, isa_p: outer and inner exponents (2, 2 is the standard normal); isa_learn_exponents learns the
    inner ones (p0 stays fixed, as in their Appendix A.2).
    """

    name: ClassVar[str] = "isa_vae"
    beta: float = 1.0
    isa_layout: tuple[int, ...] | None = None
    isa_p0: float = 2.0
    isa_p: float = 2.0
    isa_learn_exponents: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_isa_settings(self)


def _check_isa_settings(config: ISAVAEConfig | ISATCVAEConfig) -> None:
    """The ISA prior's keys: `isa_layout` (None, or a list of subspace sizes), positive exponents, a bool."""
    layout = config.isa_layout
    if layout is not None:
        if isinstance(layout, (str, bytes)) or not isinstance(layout, Sequence):
            raise ConfigError(f"train.isa_layout must be a list of subspace sizes, got {layout!r}")
        if len(layout) == 0 or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in layout):
            raise ConfigError(f"train.isa_layout must be a non-empty list of integers >= 1, got {layout!r}")
        object.__setattr__(config, "isa_layout", tuple(int(n) for n in layout))
    require_number("train.isa_p0", config.isa_p0, 0.0, exclusive=True)
    require_number("train.isa_p", config.isa_p, 0.0, exclusive=True)
    require_bool("train.isa_learn_exponents", config.isa_learn_exponents)


@dataclass(frozen=True)
class ISATCVAEConfig(BetaTCVAEConfig):
    """`isa_tcvae`: the beta-TCVAE decomposition with the ISA prior in the dimension-wise term,
    recon + alpha * MI + beta * TC + gamma * E[sum_k log q(z_k) - log p_ISA(z)] (Stuhmer et al. 2020's
    ISA-TCVAE: Chen et al. 2018 Eq. 4 with the prior of their Eq. 12)."""

    name: ClassVar[str] = "isa_tcvae"
    isa_layout: tuple[int, ...] | None = None
    isa_p0: float = 2.0
    isa_p: float = 2.0
    isa_learn_exponents: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_isa_settings(self)


@dataclass(frozen=True)
class DIPVAEConfig(ObjectiveConfig):
    """`dip_vae`: recon + KL + lambda_od * sum_{i != j} C_ij^2 + lambda_d * sum_i (C_ii - 1)^2 (Kumar et al.
    2018 Eq. 6-7), C the batch covariance of the encoder means (`dip_type: i`) or of the aggregate posterior,
    E[diag(sigma^2)] + Cov[mu] (`dip_type: ii`). Defaults are disentanglement_lib's for DIP-VAE-I."""

    name: ClassVar[str] = "dip_vae"
    dip_type: str = "i"
    lambda_od: float = 10.0
    lambda_d: float = 100.0

    def __post_init__(self) -> None:
        super().__post_init__()
        require_choice("train.dip_type", self.dip_type, ("i", "ii"), "DIP-VAE type")


@dataclass(frozen=True)
class DenoisingAEConfig(ObjectiveConfig):
    """`denoising_ae`: reconstruct x from a copy with a `corruption` fraction of pixels set to 0
    (masking noise, Vincent et al. 2008)."""

    name: ClassVar[str] = "denoising_ae"
    corruption: float = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        require_number("train.corruption", self.corruption, 0.0, maximum=1.0, max_exclusive=True)


@dataclass(frozen=True)
class SparseAEConfig(ObjectiveConfig):
    """`sparse_ae`: recon + sparsity_weight * ||mu||_1."""

    name: ClassVar[str] = "sparse_ae"
    sparsity_weight: float = 1e-3


@dataclass(frozen=True)
class KLSparseAEConfig(ObjectiveConfig):
    """`kl_sparse_ae`: recon + sparsity_weight * sum_j KL(rho || rho_hat_j), rho_hat_j the batch mean of code
    unit j's activation sigmoid(mu_j) and rho = `sparsity_target` (Singh 2018 Sec. 3.2, their beta being
    `sparsity_weight`; Ng's sparse autoencoder)."""

    name: ClassVar[str] = "kl_sparse_ae"
    sparsity_weight: float = 1e-3
    sparsity_target: float = 0.05

    def __post_init__(self) -> None:
        super().__post_init__()
        require_number(
            "train.sparsity_target", self.sparsity_target, 0.0, exclusive=True, maximum=1.0, max_exclusive=True
        )


@dataclass(frozen=True)
class KSparseAEConfig(ObjectiveConfig):
    """`k_sparse_ae`: decode only the `sparsity_k` largest code units (Makhzani & Frey 2013)."""

    name: ClassVar[str] = "k_sparse_ae"
    sparsity_k: int = 5

    def __post_init__(self) -> None:
        super().__post_init__()
        require_int("train.sparsity_k", self.sparsity_k, 1)


@dataclass(frozen=True)
class ContractiveAEConfig(ObjectiveConfig):
    """`contractive_ae`: recon + contractive_weight * ||J_mu(x)||_F^2 (Rifai et al. 2011 Eq. 2)."""

    name: ClassVar[str] = "contractive_ae"
    contractive_weight: float = 1e-3


OBJECTIVE_CONFIGS: dict[str, type[ObjectiveConfig]] = {
    c.name: c
    for c in (
        AEConfig,
        VAEConfig,
        BetaVAEConfig,
        CapacityConfig,
        BetaTCVAEConfig,
        FactorVAEConfig,
        ISAVAEConfig,
        ISATCVAEConfig,
        DIPVAEConfig,
        DenoisingAEConfig,
        SparseAEConfig,
        KLSparseAEConfig,
        KSparseAEConfig,
        ContractiveAEConfig,
    )
}
OBJECTIVES: tuple[str, ...] = tuple(OBJECTIVE_CONFIGS)
CONDITIONAL_OBJECTIVES: tuple[str, ...] = (AEConfig.name, VAEConfig.name, BetaVAEConfig.name)
"""The objectives that train a conditional VAE (`model.condition_on`): recon + beta * KL with the class c
given to the encoder and the decoder, the ELBO of Singh 2018 Sec. 4.2 at beta = 1."""
OBJECTIVE_KEYS: frozenset[str] = frozenset({"objective"}) | frozenset(
    f.name for c in OBJECTIVE_CONFIGS.values() for f in dataclasses.fields(c)
)


def objective_settings(name: Any) -> frozenset[str]:
    """The `train` keys objective `name` takes (with `objective`); every objective key if `name` is unknown,
    so that the error about the name itself comes from :meth:`ObjectiveConfig.from_dict`."""
    config_cls = OBJECTIVE_CONFIGS.get(name) if isinstance(name, str) else None
    if config_cls is None:
        return OBJECTIVE_KEYS
    return frozenset({"objective"} | {f.name for f in dataclasses.fields(config_cls)})


def _owners(key: str) -> list[str]:
    """The objectives that take `key`."""
    return [n for n, c in OBJECTIVE_CONFIGS.items() if key in {f.name for f in dataclasses.fields(c)}]


def objective_config(name: str, **settings: Any) -> ObjectiveConfig:
    """The validated config of objective `name`, e.g. `objective_config("beta_vae", beta=4.0)`."""
    return ObjectiveConfig.from_dict({"objective": name, **settings})
