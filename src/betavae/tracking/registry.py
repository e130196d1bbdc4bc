"""Names in the model registry and the choice of a sweep's best run (the gate: `tracking.promotion`).

MLflow stages are deprecated in MLflow 3; aliases (`models:/betavae-dsprites@champion`) name versions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from betavae.errors import ConfigError
from betavae.tracking.sweep_record import RunRecord


def model_name(dataset: str) -> str:
    return f"betavae-{dataset}"


def model_uri(dataset: str, alias: str = "champion") -> str:
    return f"models:/{model_name(dataset)}@{alias}"


def choose_best(
    runs: Sequence[RunRecord], scores: Mapping[str, Mapping[str, float]], metric: str, mode: str = "max"
) -> tuple[RunRecord, float]:
    """The finished run with the best finite `metric` (`scores` maps run name -> metric values).

    Ties go to the earlier run in sweep order, so the choice is deterministic.
    """
    candidates = []
    for order, run in enumerate(runs):
        if not run.finished:
            continue
        value = scores.get(run.name, {}).get(metric)
        if value is not None and math.isfinite(value):
            candidates.append((value if mode == "max" else -value, -order, run, value))
    if not candidates:
        known = sorted({k for s in scores.values() for k in s})
        raise ConfigError(f"register.metric {metric!r}: no finished run has this metric; available: {known}")
    _, _, best, value = max(candidates, key=lambda c: (c[0], c[1]))
    return best, value
