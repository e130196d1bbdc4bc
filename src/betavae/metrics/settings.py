"""The protocol every metric module follows, and where its settings come from.

A metric's settings are a frozen dataclass in :mod:`betavae.config.metrics` (subclassing
:class:`MetricSettings`, each field a :func:`setting`), so that `params.yaml: evaluate` is checked
without importing the computations; the metric module names that class `Params` and derives its
`describe` / `num_draws` with :func:`module_functions`. :class:`Metric` is the protocol the suite runs.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from betavae.config.metrics import MetricSettings, SplitSettings, module_functions, setting
from betavae.data.ground_truth import GroundTruthData
from betavae.metrics.cache import CodeSource, Representation

__all__ = ["Metric", "MetricSettings", "SplitSettings", "module_functions", "setting"]


class Metric(Protocol):
    """A metric module: `compute` draws its own sample; `describe` and `num_draws` read its settings."""

    NAME: str

    def compute(
        self,
        data: GroundTruthData,
        representation: Representation | CodeSource,
        rng: np.random.Generator,
        **params: Any,
    ) -> dict[str, float]: ...

    def describe(self, **params: Any) -> dict[str, Any]: ...

    def num_draws(self, **params: Any) -> int: ...
