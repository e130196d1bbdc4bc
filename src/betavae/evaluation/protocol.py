"""The evaluation protocol of Higgins et al. (2017), Appendix A.4.

A disentanglement score depends on the model's training seed and on the metric's own randomness (the
sampled training points and the classifier's initialisation). Higgins et al. therefore score several
replicas of each model, each with several classifier seeds, discard the bottom 50% of all these scores
(runs where the classifier got stuck say little about the representation) and report the mean and
standard deviation of the rest. Here a "classifier seed" seeds the metric's generator, which fixes
both its sample and its classifier.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from betavae.data.ground_truth import GroundTruthData
from betavae.errors import ConfigError
from betavae.metrics import suite
from betavae.metrics.cache import CodeSource, GridCodeCache, Representation

__all__ = ["ProtocolResult", "run", "summarise"]


@dataclass(frozen=True)
class ProtocolResult:
    """Mean and standard deviation (ddof=0) of the kept scores, with every score for the record."""

    mean: float
    std: float
    kept: tuple[float, ...]
    scores: tuple[float, ...]
    runs: tuple[tuple[int, int, float], ...] = ()  # (replica index, classifier seed, score)

    def as_dict(self) -> dict[str, Any]:
        return {
            "mean": self.mean,
            "std": self.std,
            "num_scores": len(self.scores),
            "num_kept": len(self.kept),
            "kept": list(self.kept),
            "scores": list(self.scores),
            "runs": [{"replica": r, "seed": s, "score": v} for r, s, v in self.runs],
        }


def summarise(
    scores: Sequence[float], keep_fraction: float = 0.5, runs: Sequence[tuple[int, int, float]] = ()
) -> ProtocolResult:
    """Keep the best ceil(keep_fraction * n) scores (at least one) and report their mean +- std."""
    values = np.asarray(scores, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ConfigError(f"the protocol needs at least one score, got {len(values)}")
    if not np.isfinite(values).all():
        raise ConfigError(f"scores must be finite, got {values.tolist()}")
    if not 0.0 < keep_fraction <= 1.0:
        raise ConfigError(f"keep_fraction must lie in (0, 1], got {keep_fraction}")
    num_kept = max(1, math.ceil(keep_fraction * values.size))
    kept = np.sort(values)[::-1][:num_kept]
    return ProtocolResult(
        mean=float(kept.mean()),
        std=float(kept.std()),
        kept=tuple(float(v) for v in kept),
        scores=tuple(float(v) for v in values),
        runs=tuple(runs),
    )


def run(
    data: GroundTruthData,
    replicas: Iterable[Representation | CodeSource],
    *,
    classifier_seeds: Sequence[int],
    metric: str = "beta_vae",
    score: str = "eval_accuracy",
    params: Mapping[str, Any] | None = None,
    keep_fraction: float = 0.5,
) -> ProtocolResult:
    """Score every replica (a representation or code source) with every classifier seed; summarise.

    Each replica is encoded at most once per grid image across all of its seeds (one shared code cache).
    """
    if not classifier_seeds:
        raise ConfigError("classifier_seeds must name at least one seed")
    metric_params = {metric: dict(params or {})}
    suite.describe(metric_params)  # validate before encoding anything
    key = f"{metric}.{score}"
    values: list[float] = []
    runs: list[tuple[int, int, float]] = []
    for index, representation in enumerate(replicas):
        source = suite.code_source(data, representation)
        if (
            isinstance(source, GridCodeCache)
            and suite.planned_draws(metric_params) * len(classifier_seeds) >= source.num_rows
        ):
            source.encode_all()
        for seed in classifier_seeds:
            result = suite.evaluate(data, source, np.random.default_rng(seed), metric_params)
            if key not in result:
                raise ConfigError(f"metric {metric} has no score {score!r}; it reports {', '.join(result)}")
            values.append(result[key])
            runs.append((index, int(seed), result[key]))
    if not values:
        raise ConfigError("the protocol needs at least one replica")
    return summarise(values, keep_fraction, runs)
