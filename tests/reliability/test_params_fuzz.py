"""Every `params.yaml` key, mistyped or out of range, fails with a ConfigError that names the key.

The property-based test replaces one value anywhere in the default `params.yaml` with random junk and
runs every validator a stage runs before its work: the outcome is either acceptance or a one-line
ConfigError naming the key; never a TypeError, KeyError or traceback from deep inside.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from betavae.config import RegisterConfig
from betavae.config.whole import check_params
from betavae.errors import ConfigError
from tests.helpers.project_copy import ROOT

DEFAULT = yaml.safe_load((ROOT / "params.yaml").read_text())


def validate_everything(params: dict[str, Any]) -> None:
    """What every stage checks before any work (`pipelines.common.params`), plus the base registry
    section on its own."""
    check_params(params)
    RegisterConfig.from_dict(params.get("register"))


def key_paths(tree: Any, prefix: tuple = ()) -> Iterator[tuple]:
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield prefix + (key,)
            yield from key_paths(value, prefix + (key,))


PATHS = sorted(key_paths(DEFAULT), key=str)

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.integers(-3, 3), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)


def test_the_default_params_are_valid():
    validate_everything(copy.deepcopy(DEFAULT))


def set_path(params: dict, path: tuple, value: Any) -> dict:
    out = copy.deepcopy(params)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(PATHS), value=JUNK)
def test_one_bad_value_anywhere_is_refused_naming_its_key(path, value):
    params = set_path(DEFAULT, path, value)
    try:
        validate_everything(params)
    except ConfigError as exc:
        message = str(exc)
        assert len(message) < 600, message
        named = [str(k) for k in path if not (path[0] == "data" and k == "datasets")]
        assert any(part in message for part in named), (path, value, message)


@settings(max_examples=100, deadline=None)
@given(path=st.sampled_from([p for p in PATHS if len(p) >= 2]), name=st.text(min_size=1, max_size=10))
def test_an_unknown_key_is_refused_with_the_allowed_ones(path, name):
    parent = DEFAULT
    for key in path[:-1]:
        parent = parent[key]
    if name in parent or path[0] in ("evaluate",) and path[1] == "profiles" or path[:2] == ("data", "datasets"):
        return  # profile names and dataset names are free-form
    params = set_path(DEFAULT, path[:-1] + (name,), 1)
    if path[:2] == ("sweep", "grid"):
        return  # grid keys are dotted parameter names, checked by expand_sweep below
    with pytest.raises(ConfigError) as info:
        validate_everything(params)
    assert repr(name)[1:-1] in str(info.value) or name in str(info.value)


@pytest.mark.parametrize(
    "path, value, expected",
    [
        (("sweep", "grid"), {"train.beta": [1.0, -1.0]}, "train.beta must be >= 0.0, got -1.0"),
        (("train", "batch_size"), 0, "train.batch_size must be >= 1, got 0"),
        (("train", "steps"), 2.5, "train.steps must be an integer, got 2.5"),
        (("train", "optimizer"), "sgd", "train.optimizer must be one of adam, adagrad; got 'sgd'"),
        (("train", "device"), "tpu", "train.device must be one of auto, cpu, cuda, mps; got 'tpu'"),
        (("train", "lr"), math.nan, "train.lr must be a finite number, got nan"),
        (("model", "architecture"), "resnet", "model.architecture"),
        (("register", "mode"), "best", "register.mode must be one of max, min; got 'best'"),
        (("render", "steps"), 1, "render.steps must be >= 2, got 1"),
        (("train", "beta"), True, "train.beta must be a finite number, got True"),  # though the grid sets beta
        (("evaluate", "reconstruction_samples"), -5, "evaluate.reconstruction_samples must be >= 0, got -5"),
        (("reigster",), {"mode": "max"}, "params.yaml: unknown section(s) reigster; expected some of data,"),
        (
            ("data", "train_on"),
            ["../../etc"],
            "data.train_on: dataset name '../../etc' must start with a letter or digit",
        ),
        (
            ("data", "train_on"),
            ["mnist"],
            "data.train_on names ['mnist'], which data.datasets does not define; defined: ['dsprites']",
        ),
        (("data", "train_on"), "dsprites", "data.train_on must be a non-empty list of dataset names, got 'dsprites'"),
        (("data", "dataset"), "dsprites", "rename `dataset: dsprites` to `train_on: [dsprites]`"),
        (("register", "datasets"), {"dsprites": {"alias": "x"}}, "register.datasets.dsprites may set metric and mode"),
        (("train", "keep_checkpoints"), "yes", "train.keep_checkpoints must be true or false, got 'yes'"),
        (
            ("evaluate", "profile"),
            "gpu",
            "evaluate.profile 'gpu' is not one of evaluate.profiles: ['cpu', 'reference']",
        ),
    ],
)
def test_known_mistakes_name_the_key_and_the_allowed_values(path, value, expected):
    with pytest.raises(ConfigError) as info:
        validate_everything(set_path(DEFAULT, path, value))
    assert expected in str(info.value)
