"""The end-to-end project: a copy of this repository after one `dvc repro` on a small dataset.

Built once per test session and shared by the files that check its outputs (pipeline, report, MLflow UI).
That build runs as a fresh clone does, each stage starting its own temporary Prefect server. The copies
that tests change or damage report to one Prefect server started for the session instead, as stages do
on a machine with `PREFECT_API_URL` set: a temporary server costs each stage 5-12 s of start-up.
"""

from __future__ import annotations

import shutil
import sqlite3

import pytest
import yaml

from tests.helpers.project_copy import BIN, clean_env, copy_project, run_ok
from tests.integration.services import Services

SMALL_PARAMS = {
    "data": {"train_on": ["blobs"], "datasets": {"blobs": {"kind": "blobs", "source": "procedural", "grid": 12}}},
    "model": {"architecture": "mlp64", "latent_dim": 4, "likelihood": "bernoulli"},
    "train": {
        "objective": "beta_vae",
        "beta": 4.0,
        "steps": 30,
        "batch_size": 32,
        "optimizer": "adam",
        "lr": 0.0005,
        "seed": 0,
        "device": "cpu",
        "precision": "auto",
        "compile": False,
        "checkpoint_every": 20,
        "log_every": 10,
        "snapshots": [15],
    },
    "sweep": {"name": "test-sweep", "grid": {"train.beta": [1.0, 4.0]}, "seeds": [0]},
    "evaluate": {
        "seed": 0,
        "reconstruction_samples": 128,
        "snapshot_metrics": ["mig"],
        "profile": "tiny",
        "table": {"metric": "beta_vae", "score": "eval_accuracy", "classifier_seeds": [0, 1], "fit_samples": 100},
        "profiles": {
            "tiny": {
                "beta_vae": {"batch_size": 8, "num_train": 100, "num_eval": 50},
                "mig": {"num_train": 256, "num_bins": 20},
            }
        },
    },
    "render": {"limit": 2.0, "steps": 5, "seed_images": 1, "kl_samples": 128, "seed": 0},
    "register": {"metric": "beta_vae.eval_accuracy", "mode": "max", "alias": "champion"},
}


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory):
    """A Prefect server on 127.0.0.1 for the session (its own home and database); yields its API URL."""
    home = tmp_path_factory.mktemp("prefect-server")
    env = clean_env(home) | {"PREFECT_HOME": str(home), "PREFECT_UI_ENABLED": "false"}
    services = Services(home)
    try:
        yield services.prefect(env, home)
    finally:
        alive = services.stop_all()
        assert not alive, f"the session's Prefect server is still running: {alive}"


@pytest.fixture(scope="session")
def repro_project(tmp_path_factory):
    """A copy of the project after `dvc repro` on SMALL_PARAMS; shared by every end-to-end test file."""
    dest = copy_project(tmp_path_factory.mktemp("project"))
    (dest / "params.yaml").write_text(yaml.safe_dump(SMALL_PARAMS, sort_keys=False))
    env = clean_env(dest)
    run_ok(["git", "init", "-q"], dest, env)
    run_ok(["git", "add", "-A"], dest, env)
    run_ok(["git", "commit", "-qm", "copy"], dest, env)
    run_ok([str(BIN / "dvc"), "repro"], dest, env, timeout=900)
    return dest, env


@pytest.fixture
def project_copy(repro_project, prefect_api, tmp_path):
    """A private copy of the shared project, the absolute paths in `mlflow.db` and the stage records
    rewritten to point into the copy, for tests that change or damage it. Its stages report to the
    session's Prefect server. Its environment leaves `SHELL` unset, so dvc runs stages through `/bin/sh`
    as on a CI runner without a login shell."""
    source, _ = repro_project
    dest = shutil.copytree(source, tmp_path / "project", symlinks=True)
    old, new = str(source), str(dest)
    with sqlite3.connect(dest / "mlflow.db") as db:
        for table, column in (
            ("experiments", "artifact_location"),
            ("runs", "artifact_uri"),
            ("model_versions", "source"),
            ("model_versions", "storage_location"),
        ):
            db.execute(f"UPDATE {table} SET {column} = replace({column}, ?, ?)", (old, new))
    for record in (dest / "models").rglob("*.json"):
        record.write_text(record.read_text().replace(old, new))
    env = clean_env(dest) | {"PREFECT_API_URL": prefect_api}
    env.pop("SHELL", None)
    return dest, env
