"""Per-dataset views of `params.yaml`: which datasets the models train on, and each one's settings.

`data.train_on` lists the datasets (keys of `data.datasets`); `dvc.yaml` runs train, evaluate, render and
register once per name. `register.datasets.<name>` overrides `register.metric`/`register.mode` for one
dataset (a dataset without ground-truth factors is ranked by a score it has, e.g. the ELBO).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from betavae.config.sections import RegisterConfig
from betavae.errors import ConfigError

RENAMED = (
    "data.dataset was replaced by data.train_on, a list of the datasets to train on: "
    "rename `dataset: {old}` to `train_on: [{old}]` under `data:` in params.yaml"
)


def datasets_to_train(params: Mapping[str, Any]) -> list[str]:
    """`data.train_on`, checked against `data.datasets` (an old `data.dataset` key names its rename)."""
    data = params.get("data") or {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"data must be a mapping with train_on and datasets, got {data!r}")
    if "dataset" in data:
        raise ConfigError(RENAMED.format(old=data["dataset"]))
    names = data.get("train_on")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        raise ConfigError(f"data.train_on must be a non-empty list of dataset names, got {names!r}")
    from betavae.paths import check_dataset_name

    for name in names:
        check_dataset_name(name, "data.train_on")
    if len(set(names)) != len(names):
        raise ConfigError(f"data.train_on lists a dataset twice: {names}")
    known = data.get("datasets") or {}
    if not isinstance(known, Mapping):
        raise ConfigError(f"data.datasets must map dataset names to their definitions, got {known!r}")
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(
            f"data.train_on names {unknown}, which data.datasets does not define; defined: {sorted(known)}"
        )
    return names


def checked_dataset(params: Mapping[str, Any], dataset: str) -> str:
    """`dataset`, checked to be one of `data.train_on`: the name a per-dataset stage passes on to
    :func:`betavae.config.run.expand_sweep` and the paths of its outputs."""
    names = datasets_to_train(params)
    if dataset not in names:
        raise ConfigError(f"dataset {dataset!r} is not in data.train_on {names}")
    return dataset


def register_config(params: Mapping[str, Any], dataset: str) -> RegisterConfig:
    """`register` with `register.datasets.<dataset>` applied (metric and mode per dataset)."""
    section = params.get("register") or {}
    if not isinstance(section, Mapping):
        raise ConfigError(f"register must be a mapping of settings, got {section!r}")
    section = dict(section)
    per = section.pop("datasets", None) or {}
    if not isinstance(per, Mapping):
        raise ConfigError(f"register.datasets must map dataset names to {{metric, mode}}, got {per!r}")
    own = per.get(dataset) or {}
    if not isinstance(own, Mapping) or set(own) - {"metric", "mode"}:
        raise ConfigError(f"register.datasets.{dataset} may set metric and mode only, got {own!r}")
    cfg = RegisterConfig.from_dict({**section, **own})
    if cfg.alias != "champion":
        raise ConfigError(
            f"register.alias must be champion (the gate gives a worse version the alias challenger), got {cfg.alias!r}"
        )
    return cfg


def keep_checkpoints(params: Mapping[str, Any]) -> bool:
    """`train.keep_checkpoints` (default false): keep each run's optimiser state after its sweep is sealed."""
    train = params.get("train")
    value = train.get("keep_checkpoints", False) if isinstance(train, Mapping) else False
    if not isinstance(value, bool):
        raise ConfigError(f"train.keep_checkpoints must be true or false, got {value!r}")
    return value


def apply_overrides(params: Mapping[str, Any], overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """A copy of `params` with `overrides` (`{section: {key: value}}`, e.g. a deployment's paper-scale
    budget) merged into its sections; `BETAVAE_DEVICE` (a worker's job variable) sets `train.device`."""
    import os

    merged = copy.deepcopy(dict(params))
    for section, values in (overrides or {}).items():
        if not isinstance(values, Mapping):
            raise ConfigError(f"overrides.{section} must map keys to values, got {values!r}")
        merged[section] = {**(merged.get(section) or {}), **copy.deepcopy(dict(values))}
    device = os.environ.get("BETAVAE_DEVICE")
    if device:
        merged["train"] = {**(merged.get("train") or {}), "device": device}
    return merged
