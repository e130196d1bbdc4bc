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

from betavae.evaluation import baselines
from betavae.config import EvaluateConfig, RunConfig
from betavae.errors import ConfigError
from betavae.evaluation import protocol
from betavae.metrics import suite
from betavae.evaluation.table import TableRow
from betavae.models import build_model
from betavae.training.checkpoint import model_from_checkpoint
from betavae.evaluation.inference import representation_of

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

    KEYS = frozenset({"metric", "score", "classifier_seeds", "keep_fraction", "baselines", "fit_samples"})

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> TableConfig:
        d = dict(d or {})
        unknown = sorted(set(d) - cls.KEYS)
        if unknown:
            raise ConfigError(f"evaluate.table: unknown key(s) {unknown}; expected some of {sorted(cls.KEYS)}")
        allowed = baselines.BASELINES + MODEL_BASELINES
        for name in d.get("baselines", cls.baselines):
            if name not in allowed:
                raise ConfigError(f"evaluate.table.baselines: unknown baseline {name!r}; expected {allowed}")
        seeds = d.get("classifier_seeds", list(cls.classifier_seeds))
        if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and s >= 0 for s in seeds):
            raise ConfigError(f"evaluate.table.classifier_seeds must be a non-empty list of ints >= 0, got {seeds!r}")
        keep = d.get("keep_fraction", cls.keep_fraction)
        if not isinstance(keep, (int, float)) or not 0 < keep <= 1:
            raise ConfigError(f"evaluate.table.keep_fraction must lie in (0, 1], got {keep!r}")
        return cls(metric=str(d.get("metric", cls.metric)), score=str(d.get("score", cls.score)),
                   classifier_seeds=tuple(seeds), keep_fraction=float(keep),
                   baselines=tuple(d.get("baselines", cls.baselines)),
                   fit_samples=int(d.get("fit_samples", cls.fit_samples)))


@dataclass
class ScoredRun:
    """A run's scores plus the code source that produced them (reused for its table row)."""

    run: RunConfig
    scores: dict[str, float]
    source: Any = field(repr=False)


def evaluate_checkpoint(checkpoint: Path, data: Any, cfg: EvaluateConfig) -> ScoredRun:
    """All metrics of `cfg` for the model in `checkpoint`, as flat `<metric>.<score>` floats.

    The seed of `cfg` fixes every sample the metrics draw, so two evaluations of one checkpoint agree.
    """
    model, run = model_from_checkpoint(checkpoint)
    started = time.perf_counter()
    source = suite.code_source(data, representation_of(model, int(data.max_pixel_value)), cfg.metrics)
    scores = dict(suite.evaluate(data, source, np.random.default_rng(cfg.seed), cfg.metrics))
    if cfg.reconstruction_samples:
        from betavae.evaluation import reconstruction

        rec = reconstruction.compute(model, data, np.random.default_rng(cfg.seed + 1),
                                     num_samples=cfg.reconstruction_samples)
        scores.update({f"reconstruction.{k}": float(v) for k, v in rec.items()})
    scores["evaluation.seconds"] = time.perf_counter() - started
    return ScoredRun(run, scores, source)


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


def comparison_table(data: Any, scored: Sequence[ScoredRun], cfg: EvaluateConfig, table: TableConfig,
                     ) -> tuple[list[TableRow], dict[str, Any]]:
    """Rows of Fig. 5 (left): baselines, then each configuration with its seeds pooled by the A.4
    protocol (every replica x every classifier seed, bottom half discarded, mean +- std)."""
    if table.metric not in cfg.metrics:
        raise ConfigError(f"evaluate.table.metric {table.metric!r} is not in the evaluate profile "
                          f"{cfg.profile!r} ({sorted(cfg.metrics)})")
    params = cfg.metrics[table.metric]
    rng = np.random.default_rng(cfg.seed)
    replicas: dict[str, list[Any]] = {}
    for name in table.baselines:
        if name == "untrained_vae":
            continue
        kwargs = {"num_samples": table.fit_samples} if name in ("pca", "ica") else {}
        label = {"ground_truth": "Ground truth", "raw_pixels": "Raw pixels", "pca": "PCA",
                 "ica": "ICA"}[name]
        replicas[label] = [baselines.build(name, data, rng, **kwargs)]
    if "untrained_vae" in table.baselines and scored:
        untrained = []
        for seed in sorted({s.run.train.seed for s in scored}):
            torch.manual_seed(seed)
            model = build_model(scored[0].run.model, tuple(data.observation_shape)).eval()
            untrained.append(representation_of(model, int(data.max_pixel_value)))
        replicas["Untrained VAE"] = untrained
    for item in scored:
        replicas.setdefault(model_label(item.run), []).append(item.source)

    rows, details = [], {}
    for label, sources in replicas.items():
        result = protocol.run(data, sources, classifier_seeds=list(table.classifier_seeds), metric=table.metric,
                              score=table.score, params=params, keep_fraction=table.keep_fraction)
        rows.append(TableRow(model=label, mean=result.mean, std=result.std, num_scores=len(result.scores)))
        details[label] = result.as_dict()
    return rows, details

