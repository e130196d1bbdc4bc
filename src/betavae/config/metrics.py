"""The settings of every disentanglement metric, as plain frozen dataclasses: what `evaluate` may name.

`params.yaml: evaluate` (its profiles, `table.params` and `udr`) is checked against these classes when
the section is built, so a bad metric name, key or value is refused before any model is trained. The
computations that read them live one floor up, one module per metric in :mod:`betavae.metrics`
(each module's `Params` is its class here); keeping the settings down here means the stages that only
validate `evaluate` never import the metric code, and editing a metric re-runs evaluation, not training.

A metric's settings subclass :class:`MetricSettings`, each field a :func:`setting` with its default and
bounds: construction checks every value (errors name `<metric>.<key>`), :meth:`MetricSettings.parse`
names an unknown key with the allowed ones, and :func:`module_functions` derives a metric module's
`describe` and `num_draws`. Defaults are those of the reference study (Locatello et al. 2019).
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from betavae.config.validation import (
    from_mapping,
    require_bool,
    require_choice,
    require_int,
    require_number,
)
from betavae.errors import ConfigError

S = TypeVar("S", bound="MetricSettings")

__all__ = [
    "ACTIVE_KL_NATS",
    "BETA_VAE_PROTOCOLS",
    "DCI_ESTIMATORS",
    "HIGGINS2017_CLASSIFIERS",
    "METRIC_SETTINGS",
    "BetaVAEParams",
    "DCIParams",
    "FactorVAEParams",
    "Higgins2017Params",
    "MIGParams",
    "MetricSettings",
    "ModularityParams",
    "SAPParams",
    "SplitSettings",
    "UDRParams",
    "beta_vae_protocol",
    "describe",
    "metric_params",
    "module_functions",
    "planned_draws",
    "setting",
]


def setting(
    default: Any, *, minimum: float | None = None, exclusive: bool = False, choices: Sequence[str] | None = None
) -> Any:
    """A settings field: its default, and the lower bound (strict with `exclusive`) or allowed values."""
    return dataclasses.field(
        default=default,
        metadata={"minimum": minimum, "exclusive": exclusive, "choices": tuple(choices) if choices else None},
    )


@dataclass(frozen=True)
class MetricSettings:
    """Base of a metric's settings: every field is checked on construction, naming `<metric>.<field>`."""

    metric: ClassVar[str] = ""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            key, value, meta = f"{self.metric}.{f.name}", getattr(self, f.name), f.metadata
            if meta.get("choices"):
                require_choice(key, value, meta["choices"])
            elif f.type in (bool, "bool"):
                require_bool(key, value)
            elif f.type in (int, "int"):
                require_int(key, value, int(meta.get("minimum") or 0))
            elif f.type in (float, "float"):
                require_number(key, value, meta.get("minimum"), exclusive=bool(meta.get("exclusive")))

    @classmethod
    def parse(cls: type[S], params: Mapping[str, Any] | None) -> S:
        """The settings from a mapping of keyword settings; an unknown key is named with the allowed ones."""
        return from_mapping(cls, cls.metric, params, what="setting")

    def draws(self) -> int:
        """Number of observations the metric encodes with these settings."""
        return 0

    def as_dict(self) -> dict[str, Any]:
        """Every setting with its value, defaults filled in (for logging)."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class SplitSettings(MetricSettings):
    """Settings of a metric fitted on `num_train` fresh points and tested on `num_test` more
    (defaults: the reference study's sizes)."""

    num_train: int = setting(10000, minimum=2)
    num_test: int = setting(5000, minimum=1)

    def draws(self) -> int:
        """Number of observations the metric encodes with these settings."""
        return self.num_train + self.num_test


def module_functions(cls: type[MetricSettings]) -> tuple[Callable[..., dict[str, Any]], Callable[..., int]]:
    """The `describe(**params)` and `num_draws(**params)` functions of the metric whose settings are `cls`."""

    def describe(**params: Any) -> dict[str, Any]:
        """All settings `compute` would use, defaults filled in (for logging)."""
        return cls.parse(params).as_dict()

    def num_draws(**params: Any) -> int:
        """Number of observations `compute` encodes with these settings."""
        return cls.parse(params).draws()

    return describe, num_draws


# ---- BetaVAE score (Higgins et al. 2017, Sec. 3 and Eq. 5): betavae.metrics.beta_vae, .higgins2017

BETA_VAE_PROTOCOLS = ("locatello2019", "higgins2017")
HIGGINS2017_CLASSIFIERS = ("adagrad", "logistic_regression")


@dataclass(frozen=True)
class BetaVAEParams(MetricSettings):
    """Settings of the BetaVAE score's `locatello2019` protocol; defaults are the reference study's."""

    metric: ClassVar[str] = "beta_vae"

    protocol: str = setting("locatello2019", choices=("locatello2019",))
    batch_size: int = setting(64, minimum=1)
    num_train: int = setting(10000, minimum=1)
    num_eval: int = setting(5000, minimum=1)
    classifier_max_iter: int = setting(1000, minimum=1)

    def draws(self) -> int:
        """Number of observations `compute` encodes with these settings."""
        return (self.num_train + self.num_eval) * self.batch_size * 2


@dataclass(frozen=True)
class Higgins2017Params(MetricSettings):
    """Settings of the BetaVAE score's ``higgins2017`` protocol (Higgins et al. 2017, Appendix A.4;
    sample sizes as in the reference study by default)."""

    metric: ClassVar[str] = "beta_vae"

    protocol: str = "higgins2017"
    batch_size: int = 64
    num_train: int = 10000
    num_eval: int = 5000
    factors: tuple[str, ...] = ()  # empty: every factor of the dataset
    classifier: str = "adagrad"
    lr: float = 0.01
    classifier_batch_size: int = 64
    max_epochs: int = 1000
    tol: float = 5e-3
    patience: int = 5

    def __post_init__(self) -> None:
        name = self.metric
        if self.protocol != "higgins2017":
            raise ConfigError(f"{name}.protocol must be 'higgins2017' here, got {self.protocol!r}")
        for key, low in (
            ("batch_size", 1),
            ("num_train", 1),
            ("num_eval", 1),
            ("classifier_batch_size", 1),
            ("max_epochs", 1),
            ("patience", 1),
        ):
            require_int(f"{name}.{key}", getattr(self, key), low)
        if self.classifier not in HIGGINS2017_CLASSIFIERS:
            raise ConfigError(
                f"{name}.classifier must be one of {', '.join(HIGGINS2017_CLASSIFIERS)}; got {self.classifier!r}"
            )
        require_number(f"{name}.lr", self.lr, 0.0, exclusive=True)
        require_number(f"{name}.tol", self.tol, 0.0)
        names = self.factors
        if (
            isinstance(names, str)
            or not isinstance(names, (list, tuple))
            or not all(isinstance(n, str) and n for n in names)
            or len(set(names)) != len(names)
        ):
            raise ConfigError(f"{name}.factors must be a list of distinct factor names, got {names!r}")
        object.__setattr__(self, "factors", tuple(names))

    def draws(self) -> int:
        """Number of observations `compute` encodes with these settings."""
        return (self.num_train + self.num_eval) * self.batch_size * 2

    def as_dict(self) -> dict[str, Any]:
        """Every setting with its value, defaults filled in (for logging); `factors` as a list."""
        out = dataclasses.asdict(self)
        out["factors"] = list(out["factors"])
        return out


def beta_vae_protocol(params: Mapping[str, Any]) -> str:
    """The BetaVAE protocol named by `params` ("locatello2019" when absent), checked."""
    protocol = params.get("protocol", "locatello2019")
    if protocol not in BETA_VAE_PROTOCOLS:
        raise ConfigError(f"beta_vae.protocol must be one of {', '.join(BETA_VAE_PROTOCOLS)}; got {protocol!r}")
    return protocol


# ---- FactorVAE score (Kim & Mnih 2018, Sec. 4): betavae.metrics.factor_vae


@dataclass(frozen=True)
class FactorVAEParams(MetricSettings):
    """Settings of the FactorVAE score; defaults are the reference study's."""

    metric: ClassVar[str] = "factor_vae"

    batch_size: int = setting(64, minimum=2)
    num_train: int = setting(10000, minimum=1)
    num_eval: int = setting(5000, minimum=1)
    num_variance_estimate: int = setting(10000, minimum=2)
    prune_threshold: float = setting(0.05, minimum=0.0)

    def draws(self) -> int:
        """Number of observations `compute` encodes with these settings."""
        return self.num_variance_estimate + (self.num_train + self.num_eval) * self.batch_size


# ---- Mutual Information Gap (Chen et al. 2018, Eq. 6): betavae.metrics.mig


@dataclass(frozen=True)
class MIGParams(MetricSettings):
    """Settings of MIG; defaults are the reference study's."""

    metric: ClassVar[str] = "mig"

    num_train: int = setting(10000, minimum=2)
    num_bins: int = setting(20, minimum=1)

    def draws(self) -> int:
        """Number of observations `compute` encodes with these settings."""
        return self.num_train


# ---- DCI (Eastwood & Williams 2018): betavae.metrics.dci

DCI_ESTIMATORS = ("gbt", "hist_gbt")


@dataclass(frozen=True)
class DCIParams(SplitSettings):
    """Settings of DCI; defaults are the reference study's (exact gradient-boosted trees)."""

    metric: ClassVar[str] = "dci"

    estimator: str = setting("gbt", choices=DCI_ESTIMATORS)
    n_estimators: int = setting(100, minimum=1)
    max_depth: int = setting(3, minimum=1)
    learning_rate: float = setting(0.1, minimum=0.0, exclusive=True)
    num_threads: int = setting(1, minimum=1)


# ---- SAP (Kumar et al. 2018): betavae.metrics.sap


@dataclass(frozen=True)
class SAPParams(SplitSettings):
    """Settings of SAP; defaults are the reference study's."""

    metric: ClassVar[str] = "sap"

    C: float = setting(0.01, minimum=0.0, exclusive=True)
    continuous_factors: bool = setting(False)


# ---- Modularity and explicitness (Ridgeway & Mozer 2018): betavae.metrics.modularity


@dataclass(frozen=True)
class ModularityParams(SplitSettings):
    """Settings of modularity and explicitness; defaults are the reference study's."""

    metric: ClassVar[str] = "modularity"

    num_bins: int = setting(20, minimum=1)
    classifier_max_iter: int = setting(1000, minimum=1)


# ---- UDR (Duan et al. 2020): betavae.metrics.udr; `params.yaml: evaluate.udr`

ACTIVE_KL_NATS = 0.01
"""The active-latent threshold: a latent whose mean KL(q(z_i|x) || N(0, 1)) is above this many nats carries
information about the image. UDR's indicator I_KL (Duan et al. 2020, Sec. 3, the reference
implementation's 0.01), the reconstruction measures' `active_latents_kl` and the pictures' active latents
all use it (the KL itself: :func:`betavae.evaluation.inference.kl_per_latent`)."""


@dataclass(frozen=True)
class UDRParams(MetricSettings):
    """Settings of UDR (defaults: the reference implementation's)."""

    metric: ClassVar[str] = "udr"

    num_samples: int = setting(10000, minimum=2)
    kl_threshold: float = setting(ACTIVE_KL_NATS, minimum=0.0)
    lasso_alpha: float = setting(0.1, minimum=0.0, exclusive=True)

    def draws(self) -> int:
        """Number of images each model encodes."""
        return self.num_samples


#: The metrics an `evaluate` profile may name, in the order the suite runs them, with their settings
#: (the BetaVAE score's default protocol; ``protocol: higgins2017`` selects :class:`Higgins2017Params`).
METRIC_SETTINGS: Mapping[str, type[MetricSettings]] = types.MappingProxyType(
    {
        "beta_vae": BetaVAEParams,
        "factor_vae": FactorVAEParams,
        "mig": MIGParams,
        "dci": DCIParams,
        "sap": SAPParams,
        "modularity": ModularityParams,
    }
)


def _check_names(params: Mapping[str, Any]) -> None:
    if not isinstance(params, Mapping):
        raise ConfigError(f"metric params must map metric names to settings, got {type(params).__name__}")
    unknown = sorted(set(params) - set(METRIC_SETTINGS))
    if unknown:
        hint = (
            " (reconstruction measures need the model: use betavae.evaluation.reconstruction)"
            if "reconstruction" in unknown
            else ""
        )
        raise ConfigError(
            f"unknown metric(s) {', '.join(unknown)}; expected some of {', '.join(METRIC_SETTINGS)}{hint}"
        )
    for name, settings in params.items():
        if settings is not None and not isinstance(settings, Mapping):
            raise ConfigError(f"settings of metric {name} must be a mapping, got {settings!r}")


def metric_params(name: str, settings: Mapping[str, Any] | None) -> MetricSettings:
    """The checked settings of metric `name` (one of :data:`METRIC_SETTINGS`) from its keyword settings."""
    settings = dict(settings or {})
    if name == "beta_vae" and beta_vae_protocol(settings) == "higgins2017":
        return Higgins2017Params.parse(settings)
    return METRIC_SETTINGS[name].parse(settings)


def describe(params: Mapping[str, Mapping[str, Any] | None]) -> dict[str, dict[str, Any]]:
    """Every metric's full settings, defaults filled in; raises ConfigError on an unknown name or key."""
    _check_names(params)
    return {name: metric_params(name, settings).as_dict() for name, settings in params.items()}


def planned_draws(params: Mapping[str, Mapping[str, Any] | None]) -> int:
    """Total number of observations the metrics in `params` draw (with repetition)."""
    _check_names(params)
    return sum(metric_params(name, settings).draws() for name, settings in params.items())
