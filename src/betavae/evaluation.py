"""Score trained runs and build the comparison table of Higgins et al. 2017, Fig. 5 (left).

The metric implementations live in :mod:`betavae.metrics`; this module connects checkpoints and
baselines to them. A run's codes are cached once per grid image (:class:`GridCodeCache`) and the same
cache serves its scores and its table row, so no image is encoded twice.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from betavae import baselines, fig5
from betavae.config import EvaluateConfig, RunConfig
from betavae.errors import ConfigError
from betavae.metrics import requirements, suite
from betavae.metrics.table import TableRow
from betavae.training.checkpoint import model_from_checkpoint
from betavae.training.inference import representation_of

MODEL_BASELINES = ("untrained_vae",)


@dataclass(frozen=True)
class TableConfig:
    """`params.yaml: evaluate.table`: which score fills the table and how it is summarised (A.4)."""

    metric: str = "beta_vae"
    score: str = "eval_accuracy"
    classifier_seeds: tuple[int, ...] = (0, 1)
    keep_fraction: float = 0.5
    baselines: tuple[str, ...] = ("ground_truth", "raw_pixels", "pca", "ica", "untrained_vae")
    fit_samples: int = 5000
    params: Mapping[str, Any] = field(default_factory=dict)  # overrides the profile's settings of `metric`
    identity_factor: str = "shape"  # A.3: ICA is fitted per pair of this factor's classes

    KEYS = frozenset({"metric", "score", "classifier_seeds", "keep_fraction", "baselines", "fit_samples", "params",
                      "identity_factor"})

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> TableConfig:
        from betavae.config import section_dict

        d = section_dict("evaluate.table", d)
        unknown = sorted(set(d) - cls.KEYS)
        if unknown:
            raise ConfigError(f"evaluate.table: unknown key(s) {unknown}; expected some of {sorted(cls.KEYS)}")
        allowed = baselines.BASELINES + MODEL_BASELINES
        names = d.get("baselines", list(cls.baselines))
        if not isinstance(names, list):
            raise ConfigError(f"evaluate.table.baselines must be a list of some of {allowed}, got {names!r}")
        for name in names:
            if name not in allowed:
                raise ConfigError(f"evaluate.table.baselines: unknown baseline {name!r}; expected {allowed}")
        seeds = d.get("classifier_seeds", list(cls.classifier_seeds))
        if not isinstance(seeds, list) or not seeds or not all(
                isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds):
            raise ConfigError(f"evaluate.table.classifier_seeds must be a non-empty list of ints >= 0, got {seeds!r}")
        keep = d.get("keep_fraction", cls.keep_fraction)
        if isinstance(keep, bool) or not isinstance(keep, (int, float)) or not 0 < keep <= 1:
            raise ConfigError(f"evaluate.table.keep_fraction must lie in (0, 1], got {keep!r}")
        for key in ("metric", "score"):
            if not isinstance(d.get(key, getattr(cls, key)), str) or not d.get(key, getattr(cls, key)):
                raise ConfigError(f"evaluate.table.{key} must name a {key}, got {d.get(key)!r}")
        fit = d.get("fit_samples", cls.fit_samples)
        if isinstance(fit, bool) or not isinstance(fit, int) or fit < 1:
            raise ConfigError(f"evaluate.table.fit_samples must be an integer >= 1, got {fit!r}")
        overrides = d.get("params") or {}
        if not isinstance(overrides, Mapping):
            raise ConfigError(f"evaluate.table.params must map settings of the table's metric to values, got {overrides!r}")
        from betavae.metrics import suite

        try:
            suite.describe({d.get("metric", cls.metric): dict(overrides)})  # names and values, before any work
        except ConfigError as exc:
            raise ConfigError(f"evaluate.table.params: {exc}") from exc
        identity = d.get("identity_factor", cls.identity_factor)
        if not isinstance(identity, str) or not identity:
            raise ConfigError(f"evaluate.table.identity_factor must be a factor name, got {identity!r}")
        return cls(metric=d.get("metric", cls.metric), score=d.get("score", cls.score),
                   classifier_seeds=tuple(seeds), keep_fraction=float(keep), baselines=tuple(names),
                   fit_samples=fit, params=dict(overrides), identity_factor=identity)

    def metric_params(self, profile_metrics: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
        """Settings of the table's metric: the profile's, updated by `params`; checked."""
        from betavae.metrics import suite

        merged = {**dict(profile_metrics.get(self.metric) or {}), **dict(self.params)}
        try:
            suite.describe({self.metric: merged})
        except ConfigError as exc:
            raise ConfigError(f"evaluate.table: {exc}") from exc
        return merged


@dataclass
class ScoredRun:
    """A run's scores plus the code source that produced them (reused for its table row)."""

    run: RunConfig
    scores: dict[str, float]
    source: Any = field(repr=False)
    notes: dict[str, str] = field(default_factory=dict)  # estimator of each score, metrics skipped and why
    checkpoint: Path | None = None


def evaluate_checkpoint(checkpoint: Path, data: Any, cfg: EvaluateConfig) -> ScoredRun:
    """All metrics of `cfg` for the model in `checkpoint`, as flat `<metric>.<score>` floats.

    The seed of `cfg` fixes every sample the metrics draw, so two evaluations of one checkpoint agree.
    """
    model, run = model_from_checkpoint(checkpoint)
    started = time.perf_counter()
    notes = requirements.estimators(cfg.metrics)
    reason = requirements.missing_factors(data)
    if reason is None:
        source = suite.code_source(data, representation_of(model, int(data.max_pixel_value)), cfg.metrics)
        scores = dict(suite.evaluate(data, source, np.random.default_rng(cfg.seed), cfg.metrics))
    else:
        source, scores = None, {}
        notes.update({f"skipped.{name}": reason for name in cfg.metrics})
    if cfg.reconstruction_samples:
        from betavae.metrics import reconstruction

        rec = reconstruction.compute(model, data, np.random.default_rng(cfg.seed + 1),
                                     num_samples=cfg.reconstruction_samples)
        scores.update({f"reconstruction.{k}": float(v) for k, v in rec.items()})
    scores["evaluation.seconds"] = time.perf_counter() - started
    return ScoredRun(run, scores, source, notes, checkpoint)


def model_label(run: RunConfig) -> str:
    """The table's name for a configuration, seeds pooled: `VAE`, `beta-VAE (beta=4)`, `beta_tcvae (...)`."""
    objective = run.objective.objective
    if objective == "vae" or (objective == "beta_vae" and run.objective.beta == 1.0):
        base = "VAE"
    elif objective == "beta_vae":
        base = f"\u03b2-VAE (\u03b2={run.objective.beta:g})"
    else:
        base = f"{objective} (\u03b2={run.objective.beta:g})"
    swept = [f"{k.split('.')[-1]}={v}" for k, v in run.overrides
             if k not in ("train.seed", "train.beta", "train.objective")]
    return base if not swept else f"{base} [{', '.join(swept)}]"


def run_budget(run: RunConfig, data: Any) -> fig5.Budget:
    """Steps, batch size and dataset size of a trained run, for its table row."""
    return fig5.Budget(steps=int(run.train.steps), batch_size=int(run.train.batch_size),
                       dataset_size=int(getattr(data, "num_images", 0) or len(data.images)))


def comparison_table(data: Any, scored: Sequence[ScoredRun], cfg: EvaluateConfig, table: TableConfig,
                     ) -> tuple[list[TableRow], dict[str, Any]]:
    """Rows of Fig. 5 (left): baselines (A.3), then each configuration with its seeds pooled by the A.4
    protocol (every replica x every classifier seed, bottom half discarded, mean +- std)."""
    if table.metric not in cfg.metrics:
        raise ConfigError(f"evaluate.table.metric {table.metric!r} is not in the evaluate profile "
                          f"{cfg.profile!r} ({sorted(cfg.metrics)})")
    params = table.metric_params(cfg.metrics)
    pooling = dict(metric=table.metric, score=table.score, params=params,
                   classifier_seeds=table.classifier_seeds, keep_fraction=table.keep_fraction)
    rows, details = fig5.baseline_rows(
        data, table.baselines, rng=np.random.default_rng(cfg.seed), fit_samples=table.fit_samples,
        identity_factor=table.identity_factor, model_config=scored[0].run.model if scored else None,
        untrained_seeds=sorted({s.run.train.seed for s in scored}) or (0,), **pooling)
    groups: dict[str, list[ScoredRun]] = {}
    for item in scored:
        groups.setdefault(model_label(item.run), []).append(item)
    for label, items in groups.items():
        row, detail = fig5.pooled_row(data, label, [i.source for i in items], budget=run_budget(items[0].run, data),
                                      **pooling)
        rows.append(row)
        details[label] = detail
    return rows, details


def table_title(cfg: EvaluateConfig, table: TableConfig) -> str:
    """The protocol line of the table's Markdown."""
    return fig5.protocol_title(table.metric, table.score, table.metric_params(cfg.metrics), table.keep_fraction,
                               table.classifier_seeds)


@torch.no_grad()
def means_and_kl(model: torch.nn.Module, images: np.ndarray, max_pixel_value: int, batch_size: int = 1024
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Posterior means (n, d) of `images` and the mean KL(q(z_i|x) || N(0, 1)) per latent (d,)."""
    from betavae.metrics.reconstruction import images_to_input
    from betavae.models.gaussian import kl_normal_standard

    model.eval()
    means, kl_sum = [], None
    for start in range(0, len(images), batch_size):
        mu, logvar = model.encode(images_to_input(images[start:start + batch_size], max_pixel_value))
        means.append(mu.double().numpy())
        kl = kl_normal_standard(mu, logvar).double().sum(0).numpy()
        kl_sum = kl if kl_sum is None else kl_sum + kl
    return np.concatenate(means), kl_sum / len(images)


def udr_scores(data: Any, scored: Sequence[ScoredRun], cfg: EvaluateConfig) -> None:
    """UDR (Duan et al. 2020) of every run among the seeds of its configuration, added to its scores.

    Runs are grouped by configuration (everything but the seed); each group's models encode the same
    `num_samples` images drawn with the evaluation seed. A configuration with one seed gets a note
    saying why it has no UDR.
    """
    from betavae.metrics import udr

    settings = udr.Params(**udr.describe(**dict(cfg.udr)))
    groups: dict[str, list[ScoredRun]] = {}
    for item in scored:
        groups.setdefault(model_label(item.run), []).append(item)
    rng = np.random.default_rng([cfg.seed, 7])
    held = data.images
    rows = np.sort(rng.choice(len(held), size=min(settings.num_samples, len(held)), replace=False))
    images = held[rows]
    for label, items in groups.items():
        if len(items) < 2:
            for item in items:
                item.notes["skipped.udr"] = (f"UDR compares seeds of one configuration; {label} has "
                                             f"{len(items)} (add seeds to sweep.seeds)")
            continue
        codes, kls = [], []
        for item in items:
            model, _ = model_from_checkpoint(item.checkpoint)
            mu, kl = means_and_kl(model, images, int(data.max_pixel_value))
            codes.append(mu)
            kls.append(kl)
        for correlation in udr.CORRELATIONS:
            result = udr.from_codes(codes, kls, correlation=correlation, kl_threshold=settings.kl_threshold,
                                    lasso_alpha=settings.lasso_alpha, seed=cfg.seed)
            for item, value, active in zip(items, result.model_scores, result.active, strict=True):
                item.scores[f"udr.{correlation}"] = value
                item.scores["udr.active_latents"] = float(active)
        for item in items:
            item.notes["estimator.udr"] = (f"Duan et al. 2020 over {len(items)} seeds of {label}, "
                                           f"{len(images)} images, KL > {settings.kl_threshold:g} nats")
