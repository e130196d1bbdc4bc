"""The stage sections of `params.yaml` after training: `evaluate` (with its `table`), `render` and
`register`, each a frozen dataclass validated once, on construction.

The metric settings `evaluate` names are checked against :mod:`betavae.config.metrics`, so building
these sections never imports the metric computations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from betavae.config import metrics as metric_settings
from betavae.config.validation import (
    check_keys,
    require_choice,
    require_int,
    require_number,
    require_threads,
    section_dict,
)
from betavae.errors import ConfigError

#: Representations computed from the data alone (betavae.evaluation.baselines builds them).
BASELINES = ("ground_truth", "raw_pixels", "pca", "ica")
#: Representations built from the trained runs' architecture, by the comparison table.
MODEL_BASELINES = ("untrained_vae",)
ALL_BASELINES = BASELINES + MODEL_BASELINES


@dataclass(frozen=True)
class TableConfig:
    """`params.yaml: evaluate.table`: which score fills the table of Higgins et al. 2017 Fig. 5 (left)
    and how replicas are pooled (Appendix A.4: every model seed x every classifier seed, the bottom
    `1 - keep_fraction` dropped), plus the baselines shown and the images PCA/ICA are fitted on."""

    metric: str = "beta_vae"
    score: str = "eval_accuracy"
    classifier_seeds: tuple[int, ...] = (0, 1)
    keep_fraction: float = 0.5
    baselines: tuple[str, ...] = ALL_BASELINES
    fit_samples: int = 5000
    params: Mapping[str, Any] = field(default_factory=dict)  # overrides the profile's settings of `metric`
    identity_factor: str = "shape"  # A.3: ICA is fitted per pair of this factor's classes

    KEYS = frozenset(
        {
            "metric",
            "score",
            "classifier_seeds",
            "keep_fraction",
            "baselines",
            "fit_samples",
            "params",
            "identity_factor",
        }
    )

    @classmethod
    def from_dict(
        cls, d: Mapping[str, Any] | None, *, metrics: Mapping[str, Any] | None = None, profile: str = ""
    ) -> TableConfig:
        """Validate `evaluate.table`; with `metrics` (the chosen profile's), `table.metric` must be one."""
        d = section_dict("evaluate.table", d)
        check_keys("evaluate.table", d, cls.KEYS)
        names = d.get("baselines", list(cls.baselines))
        if not isinstance(names, list):
            raise ConfigError(f"evaluate.table.baselines must be a list of baseline names, got {names!r}")
        for name in names:
            if name not in ALL_BASELINES:
                raise ConfigError(f"evaluate.table.baselines: unknown baseline {name!r}; expected {ALL_BASELINES}")
        seeds = d.get("classifier_seeds", list(cls.classifier_seeds))
        if (
            not isinstance(seeds, list)
            or not seeds
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)
        ):
            raise ConfigError(f"evaluate.table.classifier_seeds must be a non-empty list of ints >= 0, got {seeds!r}")
        keep = d.get("keep_fraction", cls.keep_fraction)
        if isinstance(keep, bool) or not isinstance(keep, (int, float)) or not 0 < keep <= 1:
            raise ConfigError(f"evaluate.table.keep_fraction must lie in (0, 1], got {keep!r}")
        for key in ("metric", "score"):
            if not isinstance(d.get(key, getattr(cls, key)), str) or not d.get(key, getattr(cls, key)):
                raise ConfigError(f"evaluate.table.{key} must name a {key}, got {d.get(key)!r}")
        metric = d.get("metric", cls.metric)
        if metrics is not None and metric not in metrics:
            raise ConfigError(
                f"evaluate.table.metric {metric!r} is not in the evaluate profile {profile!r} ({sorted(metrics)})"
            )
        overrides = d.get("params") or {}
        if not isinstance(overrides, Mapping):
            raise ConfigError(
                f"evaluate.table.params must map settings of the table's metric to values, got {overrides!r}"
            )
        try:
            metric_settings.describe({metric: dict(overrides)})  # names and values, before any work
        except ConfigError as exc:
            raise ConfigError(f"evaluate.table.params: {exc}") from exc
        identity = d.get("identity_factor", cls.identity_factor)
        if not isinstance(identity, str) or not identity:
            raise ConfigError(f"evaluate.table.identity_factor must be a factor name, got {identity!r}")
        table = cls(
            metric=metric,
            score=d.get("score", cls.score),
            classifier_seeds=tuple(seeds),
            keep_fraction=float(keep),
            baselines=tuple(names),
            fit_samples=require_int("evaluate.table.fit_samples", d.get("fit_samples", cls.fit_samples), 1),
            params=dict(overrides),
            identity_factor=identity,
        )
        if metrics is not None:
            table.metric_params(metrics)  # the profile's settings with the overrides, checked together
        return table

    def metric_params(self, profile_metrics: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
        """Settings of the table's metric: the profile's, updated by `params`; checked."""
        merged = {**dict(profile_metrics.get(self.metric) or {}), **dict(self.params)}
        try:
            metric_settings.describe({self.metric: merged})
        except ConfigError as exc:
            raise ConfigError(f"evaluate.table: {exc}") from exc
        return merged


@dataclass(frozen=True)
class EvaluateConfig:
    """`params.yaml: evaluate`: the metrics to compute with their settings, chosen by `profile` among
    `profiles` (a reduced `cpu` profile and the `reference` sizes of Locatello et al. 2019), and the seed."""

    seed: int = 0
    metrics: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    reconstruction_samples: int = 2048
    profile: str = "cpu"
    table: TableConfig = field(default_factory=lambda: TableConfig())
    udr: Mapping[str, Any] = field(default_factory=dict)  # Duan et al. 2020 settings: config.metrics.UDRParams
    num_threads: int | str = "auto"  # torch intra-op threads for encoding; auto = every core free
    # Metrics of the profile scored on each snapshot over training (`train.snapshots`); "reconstruction"
    # adds the reconstruction terms. Empty: snapshots are kept but not scored.
    snapshot_metrics: tuple[str, ...] = ()

    KEYS = frozenset(
        {"seed", "profile", "profiles", "reconstruction_samples", "table", "udr", "num_threads", "snapshot_metrics"}
    )

    def check_factor_names(self, available: Sequence[str]) -> None:
        """Refuse settings that name factors a dataset with the factors `available` lacks (the BetaVAE
        score's `factors`, in the profile and in the table's `params`), so a sweep stops before training
        rather than at its evaluation."""
        named = {f"evaluate.profiles.{self.profile}.{m}.factors": s.get("factors") for m, s in self.metrics.items()}
        named["evaluate.table.params.factors"] = self.table.params.get("factors")
        for key, names in named.items():
            missing = [n for n in names or () if n not in available]
            if missing:
                raise ConfigError(f"{key} names {missing}, which the dataset's factors {list(available)} lack")

    def snapshot_settings(self) -> tuple[dict[str, Mapping[str, Any]], bool]:
        """The profile's settings of the metrics scored on snapshots, and whether reconstruction is one."""
        chosen = {name: self.metrics[name] for name in self.snapshot_metrics if name in self.metrics}
        return chosen, "reconstruction" in self.snapshot_metrics

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> EvaluateConfig:
        d = section_dict("evaluate", d)
        check_keys("evaluate", d, cls.KEYS)
        profiles = d.get("profiles") or {}
        if not isinstance(profiles, Mapping) or not profiles:
            raise ConfigError(f"evaluate.profiles must map profile names to metric settings, got {profiles!r}")
        profile = d.get("profile", "cpu")
        if not isinstance(profile, str) or profile not in profiles:
            raise ConfigError(f"evaluate.profile {profile!r} is not one of evaluate.profiles: {sorted(profiles)}")
        metrics = profiles[profile]
        if not isinstance(metrics, Mapping) or not metrics:
            raise ConfigError(f"evaluate.profiles.{profile} must map metric names to settings, got {metrics!r}")
        for name, kwargs in metrics.items():
            if kwargs is not None and not isinstance(kwargs, Mapping):
                raise ConfigError(f"evaluate.profiles.{profile}.{name} must be a mapping, got {kwargs!r}")
        try:
            metric_settings.describe(metrics)  # unknown metric names or settings fail here, before any work
        except ConfigError as exc:
            raise ConfigError(f"evaluate.profiles.{profile}: {exc}") from exc
        udr_settings = d.get("udr") or {}
        if not isinstance(udr_settings, Mapping):
            raise ConfigError(f"evaluate.udr must map UDR settings to values, got {udr_settings!r}")
        try:
            metric_settings.UDRParams.parse(udr_settings)
        except ConfigError as exc:
            raise ConfigError(f"evaluate.{exc}") from exc
        return cls(
            seed=require_int("evaluate.seed", d.get("seed", 0), 0),
            metrics={k: dict(v or {}) for k, v in metrics.items()},
            reconstruction_samples=require_int(
                "evaluate.reconstruction_samples", d.get("reconstruction_samples", 2048), 0
            ),
            profile=profile,
            table=TableConfig.from_dict(d.get("table"), metrics=metrics, profile=profile),
            udr=dict(udr_settings),
            num_threads=require_threads("evaluate.num_threads", d.get("num_threads", "auto")),
            snapshot_metrics=_snapshot_metrics(d.get("snapshot_metrics", []), profile, metrics),
        )


def _snapshot_metrics(value: Any, profile: str, metrics: Mapping[str, Any]) -> tuple[str, ...]:
    """`evaluate.snapshot_metrics`: distinct names among the active profile's metrics and "reconstruction"."""
    allowed = [*metrics, "reconstruction"]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"evaluate.snapshot_metrics must be a list of metric names, got {value!r}")
    for name in value:
        if name not in allowed:
            raise ConfigError(
                f"evaluate.snapshot_metrics: {name!r} is not a metric of profile {profile!r}; "
                f"expected some of {allowed}"
            )
    if len(set(value)) != len(value):
        raise ConfigError(f"evaluate.snapshot_metrics lists a metric twice: {value!r}")
    return tuple(value)


@dataclass(frozen=True)
class RenderConfig:
    """`params.yaml: render`: latent traversals (Higgins et al. 2017 Fig. 7 style)."""

    limit: float = 2.5
    steps: int = 9
    seed_images: int = 1
    kl_samples: int = 1024
    seed: int = 0
    range: str = "limit"  # limit: sweep over ±limit | posterior: over each latent's posterior-mean range

    KEYS = frozenset({"limit", "steps", "seed_images", "kl_samples", "seed", "range"})

    def __post_init__(self) -> None:
        require_number("render.limit", self.limit, 0.0, exclusive=True)
        require_int("render.steps", self.steps, 2)
        require_int("render.seed_images", self.seed_images, 1)
        require_int("render.kl_samples", self.kl_samples, 1)
        require_int("render.seed", self.seed, 0)
        require_choice("render.range", self.range, ("limit", "posterior"))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> RenderConfig:
        d = section_dict("render", d)
        check_keys("render", d, cls.KEYS)
        return cls(**d)


@dataclass(frozen=True)
class RegisterConfig:
    """`params.yaml: register`: which metric picks the champion run, and the alias it gets."""

    metric: str = "beta_vae.eval_accuracy"
    mode: str = "max"
    alias: str = "champion"

    KEYS = frozenset({"metric", "mode", "alias", "datasets"})

    def __post_init__(self) -> None:
        if not isinstance(self.metric, str) or not self.metric:
            raise ConfigError(f"register.metric must name a metric, got {self.metric!r}")
        require_choice("register.mode", self.mode, ("max", "min"))
        if not isinstance(self.alias, str) or not self.alias.isidentifier():
            raise ConfigError(f"register.alias must be a simple name such as champion, got {self.alias!r}")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> RegisterConfig:
        d = section_dict("register", d)
        check_keys("register", d, cls.KEYS)
        d.pop("datasets", None)  # per-dataset overrides: betavae.config.per_dataset.register_config
        return cls(**d)
