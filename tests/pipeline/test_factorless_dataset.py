"""End to end on a dataset without ground-truth factors: MNIST in its official IDX format.

`dvc repro` in a copy of the project imports the IDX files, trains two seeds of one configuration,
skips the disentanglement metrics with the reason recorded (scores.json, MLflow tags, the table), still
computes reconstruction, ELBO, KL per latent, active latents and UDR, and registers the champion chosen
by UDR (Duan et al. 2020).
"""

from __future__ import annotations

import json

import pytest
import yaml

from tests.helpers import importer_samples as samples
from tests.helpers.project_copy import BIN, clean_env, copy_project, run_ok

pytestmark = pytest.mark.slow

PARAMS = {
    "data": {
        "train_on": ["mnist"],
        "datasets": {"mnist": {"kind": "mnist", "source": "path", "path": "downloads/mnist", "split": "train"}},
    },
    "model": {"architecture": "mlp28", "latent_dim": 4, "likelihood": "bernoulli"},
    "train": {
        "objective": "beta_vae",
        "beta": 4.0,
        "steps": 20,
        "batch_size": 16,
        "optimizer": "adam",
        "lr": 0.001,
        "seed": 0,
        "device": "cpu",
        "precision": "auto",
        "compile": False,
        "checkpoint_every": 20,
        "log_every": 10,
    },
    "sweep": {"name": "mnist-sweep", "grid": {"train.beta": [4.0]}, "seeds": [0, 1]},
    "evaluate": {
        "seed": 0,
        "reconstruction_samples": 64,
        "profile": "tiny",
        "udr": {"num_samples": 60},
        "table": {"metric": "beta_vae", "score": "eval_accuracy", "classifier_seeds": [0]},
        "profiles": {
            "tiny": {
                "beta_vae": {"batch_size": 8, "num_train": 50, "num_eval": 50},
                "mig": {"num_train": 64, "num_bins": 10},
            }
        },
    },
    "render": {"limit": 2.0, "steps": 3, "seed_images": 1, "kl_samples": 32, "seed": 0},
    "register": {"metric": "udr.spearman", "mode": "max", "alias": "champion"},
}
RUNS = ["beta_vae-beta=4-seed=0", "beta_vae-beta=4-seed=1"]


@pytest.fixture(scope="module")
def project(tmp_path_factory, prefect_api):
    dest = copy_project(tmp_path_factory.mktemp("mnist-project"))
    samples.write_mnist_dir(dest / "downloads" / "mnist", "train", 60)
    (dest / "params.yaml").write_text(yaml.safe_dump(PARAMS, sort_keys=False))
    env = clean_env(dest) | {"PREFECT_API_URL": prefect_api}
    run_ok(["git", "init", "-q"], dest, env)
    run_ok([str(BIN / "dvc"), "repro"], dest, env, timeout=900)
    return dest, env


def test_factor_metrics_are_skipped_with_the_reason_and_the_rest_computed(project):
    dest, _ = project
    scores = json.loads((dest / "metrics/mnist/scores.json").read_text())
    assert sorted(scores) == RUNS
    for values in scores.values():
        assert "beta_vae.eval_accuracy" not in values and "mig.score" not in values
        for metric in ("beta_vae", "mig"):
            assert "no ground-truth factors" in values["notes"][f"skipped.{metric}"]
        assert values["reconstruction.elbo"] < 0 and values["reconstruction.kl"] >= 0
        assert {f"reconstruction.kl.{i}" for i in range(4)} <= set(values)
        assert 0 <= values["reconstruction.active_latents_kl"] <= 4
        assert 0.0 <= values["udr.spearman"] <= 1.0 and 0.0 <= values["udr.lasso"] <= 1.0
        assert "2 seeds" in values["notes"]["estimator.udr"]
    table = json.loads((dest / "metrics/mnist/table.json").read_text())
    assert table["rows"] == [] and "no ground-truth factors" in table["skipped"]
    assert "Skipped: dataset 'mnist' has no ground-truth factors" in (dest / "metrics/mnist/table.md").read_text()


def test_champion_is_chosen_by_udr_and_reasons_reach_mlflow(project):
    dest, _ = project
    from mlflow.tracking import MlflowClient

    scores = json.loads((dest / "metrics/mnist/scores.json").read_text())
    registered = json.loads((dest / "models/mnist/registered.json").read_text())
    assert registered["name"] == "betavae-mnist" and registered["metric"] == "udr.spearman"
    best = max(RUNS, key=lambda name: (scores[name]["udr.spearman"], -RUNS.index(name)))
    assert registered["run_name"] == best and registered["value"] == scores[best]["udr.spearman"]
    uri = f"sqlite:///{dest / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    run = client.get_run(registered["run_id"])
    assert "udr.spearman" in run.data.metrics and "reconstruction.elbo" in run.data.metrics
    assert "no ground-truth factors" in run.data.tags["betavae.skipped.beta_vae"]
    assert client.get_model_version_by_alias("betavae-mnist", "champion").run_id == registered["run_id"]
