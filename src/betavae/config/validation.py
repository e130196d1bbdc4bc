"""The one set of checks behind every configuration: `params.yaml` sections, dataset entries, objective
and metric settings. Each error is a :class:`~betavae.errors.ConfigError` naming the full dotted key
(`train.beta`, `data.datasets.mnist.limit`, `mig.num_bins`), the offending value and what was expected.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Collection, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np

from betavae.errors import ConfigError

C = TypeVar("C")

__all__ = [
    "check_keys",
    "section_dict",
    "from_mapping",
    "require_bool",
    "require_choice",
    "require_int",
    "require_number",
    "require_threads",
]


def section_dict(section: str, d: Any) -> dict[str, Any]:
    """A `params.yaml` section as a dict: absent or empty is `{}`, anything but a mapping is refused."""
    if d is None:
        return {}
    if not isinstance(d, Mapping):
        raise ConfigError(f"{section} must be a mapping of keys to values, got {d!r}")
    return dict(d)


def check_keys(section: str, given: Mapping[str, Any], allowed: Collection[str], what: str = "key") -> None:
    """Raise unless every key of `given` is in `allowed`; the message lists the unknown `section.key`s."""
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise ConfigError(
            f"{section}: unknown {what}(s) {', '.join(f'{section}.{k}' for k in unknown)}; "
            f"expected some of {', '.join(sorted(allowed))}"
        )


def require_int(key: str, value: Any, minimum: int) -> int:
    """`value` as an int, or ConfigError unless it is an integer (not a bool) >= `minimum`."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ConfigError(f"{key} must be an integer, got {value!r}")
    if value < minimum:
        raise ConfigError(f"{key} must be >= {minimum}, got {value}")
    return int(value)


def require_number(
    key: str,
    value: Any,
    minimum: float | None = None,
    *,
    exclusive: bool = False,
    maximum: float | None = None,
    max_exclusive: bool = False,
) -> float:
    """`value` as a float, or ConfigError unless it is a finite number within the bounds.

    `exclusive` / `max_exclusive` make the lower / upper bound strict.
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not math.isfinite(value)
    ):
        raise ConfigError(f"{key} must be a finite number, got {value!r}")
    if minimum is not None and (value < minimum or (exclusive and value == minimum)):
        raise ConfigError(f"{key} must be {'>' if exclusive else '>='} {minimum}, got {value}")
    if maximum is not None and (value > maximum or (max_exclusive and value == maximum)):
        raise ConfigError(f"{key} must be {'<' if max_exclusive else '<='} {maximum}, got {value}")
    return float(value)


def require_choice(key: str, value: Any, choices: Sequence[str], what: str | None = None) -> str:
    """`value`, or ConfigError unless it is one of `choices`; `what` names the kind of thing chosen."""
    if value not in choices:
        if what:
            raise ConfigError(f"{key}: unknown {what} {value!r}; expected one of {', '.join(choices)}")
        raise ConfigError(f"{key} must be one of {', '.join(choices)}; got {value!r}")
    return value


def require_threads(key: str, value: Any) -> int | str:
    """A thread count: a positive integer, or `auto` (also when absent) for every core free to the process."""
    if value == "auto" or value is None:
        return "auto"
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{key} must be a positive integer or auto, got {value!r}")
    return value


def require_bool(key: str, value: Any) -> bool:
    """`value`, or ConfigError unless it is true or false."""
    if not isinstance(value, bool):
        raise ConfigError(f"{key} must be true or false, got {value!r}")
    return value


def from_mapping(cls: type[C], section: str, d: Mapping[str, Any] | None, *, what: str = "key") -> C:
    """Build the frozen dataclass `cls` from the mapping `d` of section `section`.

    Unknown keys and missing required keys are named as `section.key`; the dataclass' own
    `__post_init__` checks the values.
    """
    d = {} if d is None else d
    if not isinstance(d, Mapping):
        raise ConfigError(f"{section} must be a mapping, got {type(d).__name__}")
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    check_keys(section, d, {f.name for f in fields}, what)
    missing = [
        f.name
        for f in fields
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING and f.name not in d
    ]
    if missing:
        raise ConfigError(f"{section}: missing required key(s) {', '.join(f'{section}.{k}' for k in missing)}")
    return cls(**dict(d))
