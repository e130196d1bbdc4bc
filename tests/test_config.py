"""params.yaml validation: bad values fail before any work, naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from betavae.config import (
    EvaluateConfig,
    RegisterConfig,
    SweepConfig,
    build_run_config,
    expand_sweep,
    load_params,
)
from betavae.config.per_dataset import checked_dataset
from betavae.errors import ConfigError
from tests.helpers.runs import tiny_params

ROOT = Path(__file__).parents[1]


def test_project_params_expand_to_the_default_beta_sweep():
    params = load_params(ROOT / "params.yaml")
    runs = expand_sweep(params, checked_dataset(params, "dsprites"))
    assert all(r.dataset == "dsprites" for r in runs)
    assert [r.name for r in runs] == [f"beta_tcvae-beta={b}-seed={s}" for b in (1, 6) for s in (0, 1, 2)]
    assert [r.objective.beta for r in runs] == [1.0] * 3 + [6.0] * 3
    assert runs[0].model.architecture == "mlp64-narrow" and runs[0].model.latent_dim == 10
    assert runs[0].train.snapshot_steps() == (300, 600, 900)
    assert runs[0].digest != runs[1].digest
    EvaluateConfig.from_dict(load_params(ROOT / "params.yaml")["evaluate"])
    RegisterConfig.from_dict(load_params(ROOT / "params.yaml")["register"])


@pytest.mark.parametrize(
    "section, key, value, message",
    [
        ("train", "objective", "foo", "train.objective"),
        ("train", "beta", -1.0, "train.beta"),
        ("model", "latent_dim", 0, "model.latent_dim"),
        ("train", "batch_size", 0, "train.batch_size"),
        ("train", "optimizer", "sgd", "train.optimizer"),
        ("train", "lr", 0.0, "train.lr"),
        ("train", "device", "tpu", "train.device"),
        ("train", "betta", 4.0, "train.betta"),
    ],
)
def test_bad_values_name_their_key(section, key, value, message):
    params = tiny_params()
    params[section][key] = value
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        build_run_config(params, "tiny")


def test_one_bad_grid_value_stops_the_whole_sweep():
    params = tiny_params()
    params["sweep"] = {"grid": {"train.beta": [1.0, -4.0]}, "seeds": [0]}
    with pytest.raises(ConfigError, match=r"train\.beta"):
        expand_sweep(params, "tiny")


def test_sweep_crosses_grid_and_seeds():
    params = tiny_params()
    params["sweep"] = {"grid": {"train.beta": [1.0, 4.0], "model.latent_dim": [4, 6]}, "seeds": [0, 1]}
    runs = expand_sweep(params, "tiny")
    assert len(runs) == 8
    assert {(r.objective.beta, r.model.latent_dim, r.train.seed) for r in runs} == {
        (b, d, s) for b in (1.0, 4.0) for d in (4, 6) for s in (0, 1)
    }


def test_sweep_keys_outside_model_and_train_are_rejected():
    params = tiny_params()
    params["sweep"] = {"grid": {"data.dataset": ["a", "b"]}}
    with pytest.raises(ConfigError, match="sweep.grid.data.dataset"):
        expand_sweep(params, "tiny")


def test_missing_or_malformed_params_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_params(tmp_path / "params.yaml")
    (tmp_path / "params.yaml").write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_params(tmp_path / "params.yaml")


def test_evaluate_profile_selects_its_metrics_and_rejects_unknown_ones():
    section = load_params(ROOT / "params.yaml")["evaluate"]
    cpu = EvaluateConfig.from_dict(section)
    assert cpu.profile == "cpu" and cpu.metrics["beta_vae"]["num_train"] == 1000
    reference = EvaluateConfig.from_dict({**section, "profile": "reference"})
    assert reference.metrics["beta_vae"] == {"batch_size": 64, "num_train": 10000, "num_eval": 5000}
    assert set(reference.metrics) == {"beta_vae", "factor_vae", "mig", "dci", "sap", "modularity"}
    with pytest.raises(ConfigError, match="evaluate.profile 'gpu'"):
        EvaluateConfig.from_dict({**section, "profile": "gpu"})
    with pytest.raises(ConfigError, match="evaluate.profiles.cpu"):
        EvaluateConfig.from_dict({"profiles": {"cpu": {"nonsense_metric": {}}}})


def test_register_mode_is_checked():
    with pytest.raises(ConfigError, match="register.mode"):
        RegisterConfig.from_dict({"metric": "mig.score", "mode": "best"})


def test_num_threads_are_validated_and_left_out_of_the_run_digest():
    from betavae.config import TrainConfig

    params = load_params(ROOT / "params.yaml")
    auto = build_run_config(params, "dsprites")
    two = build_run_config(params, "dsprites", {"train.num_threads": 2})
    assert auto.train.num_threads == "auto" and two.train.num_threads == 2
    assert auto.digest == two.digest  # a checkpoint resumes under another thread count
    for bad in (0, -1, 1.5, "many", True):
        with pytest.raises(ConfigError, match=r"train.num_threads must be a positive integer or auto"):
            TrainConfig(num_threads=bad)
        with pytest.raises(ConfigError, match=r"evaluate.num_threads must be a positive integer or auto"):
            EvaluateConfig.from_dict({**params["evaluate"], "num_threads": bad})
    assert EvaluateConfig.from_dict({**params["evaluate"], "num_threads": 1}).num_threads == 1


def test_apply_num_threads_uses_the_cores_free_to_the_process():
    import os

    import torch

    from betavae.training.device import apply_num_threads, cores_free

    before = torch.get_num_threads()
    try:
        assert cores_free() == len(os.sched_getaffinity(0))
        assert apply_num_threads("auto") == cores_free() == torch.get_num_threads()
        assert apply_num_threads(1) == 1 == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


def test_a_sweep_of_blocks_mixes_objectives_each_checked_with_its_own_keys():
    params = tiny_params()
    params["train"] |= {"objective": "beta_tcvae", "beta": 6.0, "alpha": 1.0}
    params["sweep"] = {
        "grid": [
            {"train.objective": ["beta_vae"], "train.beta": [1.0, 4.0]},
            {"train.objective": ["beta_tcvae"], "train.beta": [6.0]},
            {"train.objective": ["vae"], "train.beta_schedule": [{"kind": "linear", "steps": 20}]},
            {"train.objective": ["factor_vae"], "train.gamma": [35.0]},
            {"model.latent_dim": [2]},  # the base objective, beta_tcvae
        ],
        "seeds": [0, 1],
    }
    runs = expand_sweep(params, "tiny")
    assert [r.name for r in runs] == [
        "beta_vae-beta=1-seed=0",
        "beta_vae-beta=1-seed=1",
        "beta_vae-beta=4-seed=0",
        "beta_vae-beta=4-seed=1",
        "beta_tcvae-beta=6-seed=0",
        "beta_tcvae-beta=6-seed=1",
        "vae-beta_schedule=linear-20-seed=0",
        "vae-beta_schedule=linear-20-seed=1",
        "factor_vae-gamma=35-seed=0",
        "factor_vae-gamma=35-seed=1",
        "beta_tcvae-latent_dim=2-seed=0",
        "beta_tcvae-latent_dim=2-seed=1",
    ]
    # the base's beta and alpha go to the objectives that take them, not to factor_vae
    assert runs[0].objective.to_dict() == {"objective": "beta_vae", "beta": 1.0}
    assert runs[6].objective.to_dict() == {
        "objective": "vae",
        "beta_schedule": {"kind": "linear", "steps": 20, "start": 0.0, "ramp": None},
    }
    assert runs[8].objective.to_dict()["gamma"] == 35.0 and "beta" not in runs[8].objective.to_dict()
    assert runs[10].objective.beta == 6.0 and runs[10].model.latent_dim == 2
    assert SweepConfig.from_dict(params["sweep"]).grid["block3.train.gamma"] == (35.0,)


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ([{"train.objective": ["beta_vae"], "train.gamma": [2.0]}], r"train\.gamma: not a setting of .*'beta_vae'"),
        ([{"train.beta": [1.0]}, {"train.beta": [1.0]}], r"duplicate configurations: \['beta_vae-beta=1-seed=0'\]"),
        ([], r"sweep\.grid: a list of blocks must hold at least one block"),
        ([{"train.beta": [1.0]}, "x"], r"sweep\.grid\[1\] must map params keys to lists of values"),
        ([{"train.beta": 4.0}], r"sweep\.grid\[0\]\.train\.beta must be a non-empty list"),
        ([{"evaluate.seed": [1]}], r"sweep\.grid\[0\]\.evaluate\.seed: only model\.\* and train\.\* keys"),
        ({"train.seed": [1, 2]}, r"sweep\.grid\.train\.seed: list the seeds under sweep\.seeds"),
        (
            [{"train.objective": ["vae"], "train.beta_schedule": [{"kind": "linear", "steps": 0}]}],
            r"steps must be >= 1",
        ),
    ],
)
def test_bad_sweep_blocks_are_refused_naming_the_block(grid, message):
    params = tiny_params()
    params["sweep"] = {"grid": grid, "seeds": [0]}
    with pytest.raises(ConfigError, match=message):
        expand_sweep(params, "tiny")


def test_the_keys_of_a_sweep_of_blocks_are_valid_mlflow_parameters(tmp_path):
    from betavae.tracking.client import client_for, ensure_experiment, start_run

    sweep = SweepConfig.from_dict(
        {"grid": [{"train.objective": ["beta_vae"], "train.beta": [1.0, 4.0]}, {"model.latent_dim": [2]}]}
    )
    client = client_for(tmp_path)
    run = start_run(client, ensure_experiment(client, "blocks", tmp_path), "sweep")
    run.log_params({f"sweep.grid.{k}": list(v) for k, v in sweep.grid.items()})
    run.finish()
    logged = client.get_run(run.run_id).data.params
    assert (
        logged["sweep.grid.block0.train.beta"] == "[1.0, 4.0]" and logged["sweep.grid.block1.model.latent_dim"] == "[2]"
    )
