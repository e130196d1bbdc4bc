"""Per-dataset views of params.yaml: which datasets train, each one's register metric, renamed keys."""

from __future__ import annotations

import pytest

from betavae.config.per_dataset import (
    apply_overrides,
    checked_dataset,
    datasets_to_train,
    keep_checkpoints,
    register_config,
)
from betavae.errors import ConfigError

PARAMS = {
    "data": {
        "train_on": ["dsprites", "mnist"],
        "datasets": {"dsprites": {"kind": "dsprites"}, "mnist": {"kind": "mnist"}, "blobs": {"kind": "blobs"}},
    },
    "train": {"steps": 10},
    "register": {
        "metric": "beta_vae.eval_accuracy",
        "mode": "max",
        "alias": "champion",
        "datasets": {"mnist": {"metric": "reconstruction.elbo"}},
    },
}


def test_each_dataset_gets_its_own_view_and_register_metric():
    assert datasets_to_train(PARAMS) == ["dsprites", "mnist"]
    assert checked_dataset(PARAMS, "mnist") == "mnist"
    assert PARAMS["data"]["train_on"] == ["dsprites", "mnist"]  # the input is not modified
    assert (register_config(PARAMS, "mnist").metric, register_config(PARAMS, "mnist").mode) == (
        "reconstruction.elbo",
        "max",
    )
    assert register_config(PARAMS, "dsprites").metric == "beta_vae.eval_accuracy"
    with pytest.raises(ConfigError, match=r"dataset 'blobs' is not in data.train_on \['dsprites', 'mnist'\]"):
        checked_dataset(PARAMS, "blobs")


def test_old_and_wrong_keys_say_what_to_write():
    with pytest.raises(ConfigError, match=r"rename `dataset: dsprites` to `train_on: \[dsprites\]`"):
        datasets_to_train({"data": {"dataset": "dsprites", "datasets": {"dsprites": {}}}})
    with pytest.raises(ConfigError, match="data.train_on lists a dataset twice"):
        datasets_to_train({"data": {"train_on": ["a", "a"], "datasets": {"a": {}}}})
    with pytest.raises(ConfigError, match="register.alias must be champion"):
        register_config({**PARAMS, "register": {"alias": "best"}}, "dsprites")
    with pytest.raises(ConfigError, match="register.datasets.mnist may set metric and mode only"):
        register_config({**PARAMS, "register": {"datasets": {"mnist": {"alias": "x"}}}}, "mnist")
    with pytest.raises(ConfigError, match="train.keep_checkpoints must be true or false, got 1"):
        keep_checkpoints({"train": {"keep_checkpoints": 1}})
    assert keep_checkpoints({"train": {}}) is False


def test_overrides_replace_keys_and_a_worker_sets_the_device(monkeypatch):
    monkeypatch.delenv("BETAVAE_DEVICE", raising=False)
    merged = apply_overrides(PARAMS, {"train": {"steps": 300000, "lr": 0.01}})
    assert merged["train"] == {"steps": 300000, "lr": 0.01} and PARAMS["train"] == {"steps": 10}
    monkeypatch.setenv("BETAVAE_DEVICE", "cuda")
    assert apply_overrides(PARAMS, None)["train"]["device"] == "cuda"
    with pytest.raises(ConfigError, match="overrides.train must map keys to values"):
        apply_overrides(PARAMS, {"train": 5})
