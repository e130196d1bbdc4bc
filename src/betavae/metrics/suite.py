"""Run several disentanglement metrics on one representation, sharing one code cache.

`evaluate(data, representation, rng, params)` runs the metrics named in `params` (each with its keyword
settings) and returns flat scores ``"<metric>.<score>"``, e.g. ``"beta_vae.eval_accuracy"``,
``"mig.score"``. On a complete factor grid every metric reads codes from one :class:`GridCodeCache`,
so no image is encoded twice; when the metrics together draw at least as many observations as the
grid holds, the whole grid is encoded once, in order, before the first metric runs.

Each metric gets its own random stream derived from `rng` and the metric's name, so adding or removing
a metric does not change the others' scores.

Parameter sets:

- :data:`REFERENCE_PARAMS`: the sample sizes and estimators of the reference study (Locatello et al.
  2019), for GPU workers and final tables; DCI fits scikit-learn's exact GradientBoostingClassifier and
  reads its impurity importances, as the reference study does (:mod:`betavae.metrics.dci`).
- :data:`CPU_PARAMS`: the reduced default for CPU runs (about 307,000 draws instead of 2.9 million; on
  dSprites the grid cache then encodes about 250,000 of the 737,280 images): the same batch sizes
  (L = 64) and estimators, 1,000 / 500 BetaVAE and FactorVAE points, 5,000 MIG points, 2,000 / 1,000
  points for DCI, SAP and modularity, and 50 rounds of the faster histogram gradient boosting
  (``estimator: hist_gbt``, whose importances are split gains, not the reference study's) for DCI. About 18 s for one trained
  dSprites model on 2 quiet CPU cores, encoding included. Scores are noisier (the BetaVAE evaluation
  accuracy over 500 points has a standard error of about 2 points); use them to compare runs with each
  other, not with published numbers.
"""

from __future__ import annotations

import types
import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from betavae.errors import ConfigError
from betavae.metrics import beta_vae, dci, factor_vae, mig, modularity, sap
from betavae.metrics.cache import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_MAX_CACHE_BYTES,
    CodeSource,
    GridCodeCache,
    Representation,
    as_code_source,
)

__all__ = ["CPU_PARAMS", "METRICS", "REFERENCE_PARAMS", "code_source", "describe", "evaluate", "planned_draws"]

METRICS: Mapping[str, types.ModuleType] = types.MappingProxyType({
    "beta_vae": beta_vae,
    "factor_vae": factor_vae,
    "mig": mig,
    "dci": dci,
    "sap": sap,
    "modularity": modularity,
})

REFERENCE_PARAMS: Mapping[str, Mapping[str, Any]] = types.MappingProxyType({
    "beta_vae": {"batch_size": 64, "num_train": 10000, "num_eval": 5000},
    "factor_vae": {"batch_size": 64, "num_train": 10000, "num_eval": 5000, "num_variance_estimate": 10000,
                   "prune_threshold": 0.05},
    "mig": {"num_train": 10000, "num_bins": 20},
    "dci": {"num_train": 10000, "num_test": 5000, "estimator": "gbt", "n_estimators": 100, "max_depth": 3},
    "sap": {"num_train": 10000, "num_test": 5000, "C": 0.01},
    "modularity": {"num_train": 10000, "num_test": 5000, "num_bins": 20},
})

CPU_PARAMS: Mapping[str, Mapping[str, Any]] = types.MappingProxyType({
    "beta_vae": {"batch_size": 64, "num_train": 1000, "num_eval": 500},
    "factor_vae": {"batch_size": 64, "num_train": 1000, "num_eval": 500, "num_variance_estimate": 5000,
                   "prune_threshold": 0.05},
    "mig": {"num_train": 5000, "num_bins": 20},
    "dci": {"num_train": 2000, "num_test": 1000, "estimator": "hist_gbt", "n_estimators": 50, "max_depth": 3},
    "sap": {"num_train": 2000, "num_test": 1000, "C": 0.01},
    "modularity": {"num_train": 2000, "num_test": 1000, "num_bins": 20},
})

def _check_names(params: Mapping[str, Any]) -> None:
    if not isinstance(params, Mapping):
        raise ConfigError(f"metric params must map metric names to settings, got {type(params).__name__}")
    unknown = sorted(set(params) - set(METRICS))
    if unknown:
        hint = " (reconstruction measures need the model: use betavae.evaluation.reconstruction)" \
            if "reconstruction" in unknown else ""
        raise ConfigError(f"unknown metric(s) {', '.join(unknown)}; expected some of {', '.join(METRICS)}{hint}")
    for name, settings in params.items():
        if settings is not None and not isinstance(settings, Mapping):
            raise ConfigError(f"settings of metric {name} must be a mapping, got {settings!r}")


def describe(params: Mapping[str, Mapping[str, Any] | None]) -> dict[str, dict[str, Any]]:
    """Every metric's full settings, defaults filled in; raises ConfigError on an unknown name or key."""
    _check_names(params)
    return {name: METRICS[name].describe(**dict(settings or {})) for name, settings in params.items()}


def planned_draws(params: Mapping[str, Mapping[str, Any] | None]) -> int:
    """Total number of observations the metrics in `params` draw (with repetition)."""
    _check_names(params)
    return sum(METRICS[name].num_draws(**dict(settings or {})) for name, settings in params.items())


def code_source(data: Any, representation: Representation | CodeSource,
                params: Mapping[str, Mapping[str, Any] | None] | None = None, *,
                batch_size: int = DEFAULT_BATCH_SIZE, max_cache_bytes: int = DEFAULT_MAX_CACHE_BYTES) -> CodeSource:
    """The code source the metrics should share for `representation` on `data`.

    A representation that already maps factors to codes is returned unchanged. On a complete grid a
    :class:`GridCodeCache` is built, and filled up front when `params` will draw at least as many
    observations as the grid holds. Otherwise images are encoded as they are drawn.
    """
    if isinstance(representation, CodeSource):
        return representation
    if getattr(data, "is_complete_grid", False):
        cache = GridCodeCache(data, representation, batch_size=batch_size, max_bytes=max_cache_bytes)
        if params is not None and planned_draws(params) >= cache.num_rows:
            cache.encode_all()
        return cache
    return as_code_source(data, representation, batch_size=batch_size)


def metric_rng(name: str, base: int) -> np.random.Generator:
    """The stream of metric `name`: seeded by one draw `base` from the suite's rng and the metric's name."""
    return np.random.default_rng([base, zlib.crc32(name.encode())])


def evaluate(data: Any, representation: Representation | CodeSource, rng: np.random.Generator,
             params: Mapping[str, Mapping[str, Any] | None], *, batch_size: int = DEFAULT_BATCH_SIZE,
             max_cache_bytes: int = DEFAULT_MAX_CACHE_BYTES) -> dict[str, float]:
    """Run the metrics named in `params` with their settings; flat scores ``"<metric>.<score>"``.

    `representation` maps uint8 images (n, H, W, C) to codes (n, d), or is already a code source
    (e.g. a :class:`GridCodeCache` reused across seeds, or a ground-truth baseline).
    """
    describe(params)  # validate every name and setting before any encoding starts
    source = code_source(data, representation, params, batch_size=batch_size, max_cache_bytes=max_cache_bytes)
    base = int(rng.integers(2**63 - 1))
    scores: dict[str, float] = {}
    for name, settings in params.items():
        result = METRICS[name].compute(data, source, metric_rng(name, base), **dict(settings or {}))
        scores.update({f"{name}.{key}": float(value) for key, value in result.items()})
    return scores
