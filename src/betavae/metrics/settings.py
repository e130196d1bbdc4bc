"""What every metric module shares, written once: its settings and the module functions derived from them.

A metric declares its settings as a frozen dataclass subclassing :class:`MetricSettings`, each field a
:func:`setting` with its default and bounds, and gets validation (errors name `<metric>.<key>`),
parsing from `params.yaml` (:meth:`MetricSettings.parse`, unknown keys named) and the module-level
`describe` / `num_draws` of :func:`module_functions`. :class:`Metric` is the protocol the suite runs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypeVar

import numpy as np

from betavae.config.validation import (
    from_mapping,
    require_bool,
    require_choice,
    require_int,
    require_number,
)
from betavae.data.ground_truth import GroundTruthData
from betavae.metrics.cache import CodeSource, Representation

S = TypeVar("S", bound="MetricSettings")

__all__ = ["Metric", "MetricSettings", "SplitSettings", "module_functions", "setting"]


def setting(default: Any, *, minimum: float | None = None, exclusive: bool = False,
            choices: Sequence[str] | None = None) -> Any:
    """A settings field: its default, and the lower bound (strict with `exclusive`) or allowed values."""
    return dataclasses.field(default=default, metadata={"minimum": minimum, "exclusive": exclusive,
                                                        "choices": tuple(choices) if choices else None})


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
        return dataclasses.asdict(cls.parse(params))

    def num_draws(**params: Any) -> int:
        """Number of observations `compute` encodes with these settings."""
        return cls.parse(params).draws()

    return describe, num_draws


class Metric(Protocol):
    """A metric module: `compute` draws its own sample; `describe` and `num_draws` read its settings."""

    NAME: str

    def compute(self, data: GroundTruthData, representation: Representation | CodeSource, rng: np.random.Generator,
                **params: Any) -> dict[str, float]: ...

    def describe(self, **params: Any) -> dict[str, Any]: ...

    def num_draws(self, **params: Any) -> int: ...
