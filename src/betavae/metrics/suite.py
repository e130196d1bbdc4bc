"""Run several disentanglement metrics on one representation, sharing one code cache.

`evaluate(data, representation, rng, params)` runs the metrics named in `params` (each with its keyword
settings) and returns flat scores ``"<metric>.<score>"``, e.g. ``"beta_vae.eval_accuracy"``,
``"mig.score"``. On a complete factor grid every metric reads codes from one :class:`GridCodeCache`,
so no image is encoded twice; when the metrics together draw at least as many observations as the
grid holds, the whole grid is encoded once, in order, before the first metric runs.

Each metric gets its own random stream derived from `rng` and the metric's name, so adding or removing
a metric does not change the others' scores.

The metric settings a run uses are the profiles of `params.yaml: evaluate.profiles`, their one home:
`reference` holds the sample sizes and estimators of the reference study (Locatello et al. 2019; DCI by
scikit-learn's exact gradient boosting, :mod:`betavae.metrics.dci`), for GPU workers and final tables;
`cpu` a reduced set for CPU runs (about 307,000 draws instead of 2.9 million, the histogram DCI
estimator under its own name, about 10 s per trained dSprites model on 2 quiet cores by benchmarks/NOTES.md;
its scores compare runs with each other, not with published numbers). Settings left out take each metric's defaults.
"""

from __future__ import annotations

import types
import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from betavae.config.metrics import describe, planned_draws
from betavae.data.ground_truth import GroundTruthData
from betavae.metrics import beta_vae, dci, factor_vae, mig, modularity, sap
from betavae.metrics.cache import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_MAX_CACHE_BYTES,
    CodeSource,
    GridCodeCache,
    Representation,
    as_code_source,
)
from betavae.metrics.settings import Metric

__all__ = ["METRICS", "code_source", "describe", "evaluate", "planned_draws"]

METRICS: Mapping[str, Metric] = types.MappingProxyType(
    {
        "beta_vae": beta_vae,
        "factor_vae": factor_vae,
        "mig": mig,
        "dci": dci,
        "sap": sap,
        "modularity": modularity,
    }
)  # the names and order of betavae.config.metrics.METRIC_SETTINGS, which checks their settings


def code_source(
    data: GroundTruthData,
    representation: Representation | CodeSource,
    params: Mapping[str, Mapping[str, Any] | None] | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_cache_bytes: int = DEFAULT_MAX_CACHE_BYTES,
) -> CodeSource:
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


def evaluate(
    data: GroundTruthData,
    representation: Representation | CodeSource,
    rng: np.random.Generator,
    params: Mapping[str, Mapping[str, Any] | None],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_cache_bytes: int = DEFAULT_MAX_CACHE_BYTES,
) -> dict[str, float]:
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
