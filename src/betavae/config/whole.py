"""All of `params.yaml` checked at once, so that a mistake in a section a later stage reads stops the
first stage, before any training: `render.steps: 0` is refused by `train`, not after it.

Each section is checked by its own config class (one home per check); this module only walks them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from betavae.config.datasets import parse_spec
from betavae.config.per_dataset import apply_overrides, datasets_to_train, keep_checkpoints, register_config
from betavae.config.run import build_run_config, expand_sweep, load_params
from betavae.config.sections import EvaluateConfig, RenderConfig
from betavae.errors import ConfigError

SECTIONS = ("data", "model", "train", "sweep", "evaluate", "render", "register")


def check_params(params: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigError`, naming the key, unless every section of `params` is valid.

    Covers every dataset definition (`data.datasets`), the train section as written (a value the sweep
    grid overrides must still be valid: `train.beta: yes` is an error), every configuration of the
    sweep for every dataset of `data.train_on`, and the `evaluate`, `render` and `register` sections
    (with each dataset's register overrides).
    """
    unknown = sorted(set(params) - set(SECTIONS))
    if unknown:
        raise ConfigError(
            f"params.yaml: unknown section(s) {', '.join(unknown)}; expected some of {', '.join(SECTIONS)}"
        )
    names = datasets_to_train(params)
    for name, spec in (params["data"].get("datasets") or {}).items():
        parse_spec(name, spec)
    keep_checkpoints(params)
    for name in names:
        build_run_config(params, name)
        expand_sweep(params, name)
        register_config(params, name)
    EvaluateConfig.from_dict(params.get("evaluate"))
    RenderConfig.from_dict(params.get("render"))


def load_checked_params(path: str | Path, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`params.yaml` at `path` with `overrides` of its sections applied (and `BETAVAE_DEVICE`,
    :func:`betavae.config.per_dataset.apply_overrides`), every section checked by :func:`check_params`."""
    params = apply_overrides(load_params(path), overrides)
    check_params(params)
    return params
