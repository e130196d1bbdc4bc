"""Config runs (a paper-scale profile such as `configs/higgins2017-fig5.yaml`): their parameters as DVC
experiment overrides, and their committed result.

A config is `params.yaml` with some keys replaced (:func:`merge`, for validation); the experiment gets the
same keys as `dvc exp run -S` overrides (:func:`set_param_overrides`), so `params.yaml` itself is never
rewritten. Once it has run, :func:`betavae.report.results_docs.write_results_doc` commits its result
files and tables under `docs/results/`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any


def merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with every key of `override` replaced (mappings merged key by key, except `sweep.grid`)."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping) and key != "grid":
            out[key] = merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def set_param_overrides(config: Mapping[str, Any], base: Mapping[str, Any], prefix: str = "") -> list[str]:
    """`dvc exp run -S` values (Hydra's override grammar) that turn `base` (`params.yaml`) into
    `merge(base, config)`.

    One `++key=value` per leaf (`++` adds a key `base` lacks and replaces one it has); mappings are walked
    key by key, except `sweep.grid`, which is replaced whole as :func:`merge` does. A value whose kind
    differs from the one it replaces (a list of grid blocks for a mapping, `[]` for `{every: N}`) is
    deleted first (`~key`), since Hydra does not merge a list into a mapping.
    """
    out: list[str] = []
    for key, value in config.items():
        dotted = f"{prefix}{key}"
        old = base.get(key) if isinstance(base, Mapping) else None
        if isinstance(value, Mapping) and key != "grid":
            out += set_param_overrides(value, old if isinstance(old, Mapping) else {}, f"{dotted}.")
        elif key in base and _container(old) != _container(value):
            out += [f"~{dotted}", f"+{dotted}={_hydra_value(value)}"]
        else:
            out.append(f"++{dotted}={_hydra_value(value)}")
    return out


def _container(value: Any) -> str:
    """The kind of `value` Hydra merges by: "mapping", "list" or "scalar"."""
    if isinstance(value, Mapping):
        return "mapping"
    return "list" if isinstance(value, (list, tuple)) else "scalar"


def _hydra_value(value: Any) -> str:
    """`value` in Hydra's override grammar: quoted strings, bare numbers, `[...]` and `{key:value}`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        # Hydra reads a backslash as an escape only before a quote or the closing quote: double those
        escaped = re.sub(r"(\\+)(?='|$)", lambda m: m.group(1) * 2, value)
        return "'" + escaped.replace("'", "\\'") + "'"
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{k}:{_hydra_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_hydra_value(v) for v in value) + "]"
    raise TypeError(f"cannot pass {value!r} ({type(value).__name__}) as a dvc exp run -S value")


def device_name() -> str:
    """The first CUDA device's name, or a note that there is none."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return "CPU (no CUDA device)"
