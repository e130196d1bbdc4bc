"""A configuration killed on one machine resumes on another from the checkpoint it shared through the
tracking server, to the weights of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.helpers.project_copy import ROOT, clean_env
from tests.integration.services import Services

pytestmark = pytest.mark.slow


def _train(project: Path, experiment: str, parent: str, env: dict, **extra: str) -> subprocess.CompletedProcess:
    project.mkdir(exist_ok=True)
    out = project / "record.json"
    cmd = [sys.executable, "-m", "tests.integration.resume_process", str(project), experiment, parent, str(out)]
    return subprocess.run(cmd, cwd=ROOT, env=env | extra, capture_output=True, text=True, timeout=300)


def _weights(record_file: Path) -> dict[str, torch.Tensor]:
    record = json.loads(record_file.read_text())
    return torch.load(record["checkpoint"], map_location="cpu", weights_only=True)["model"]


def test_a_configuration_killed_on_one_machine_resumes_on_another(tmp_path, monkeypatch):
    services = Services(tmp_path)
    env = clean_env(ROOT) | {"PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    try:
        store = f"sqlite:///{tmp_path / 'store.db'}"
        tracking = services.mlflow(store, str(tmp_path / "artifacts"), env, tmp_path)
        env["MLFLOW_TRACKING_URI"] = tracking
        monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking)
        from mlflow.tracking import MlflowClient

        from betavae.tracking.client import ensure_experiment, start_run
        from betavae.tracking.tags import RESUMED_FROM_STEP_TAG

        client = MlflowClient(tracking)
        experiment = ensure_experiment(client, "betavae-resume", tmp_path)
        sweep = start_run(client, experiment, "sweep")

        # machine A dies (SIGKILL) right after writing its step-20 checkpoint, before sharing it
        killed = _train(
            tmp_path / "machine-a", experiment, sweep.run_id, env, BETAVAE_FAULT="train:checkpoint-written:2"
        )
        assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
        # machine B holds nothing of that run: it fetches the shared step-10 state and resumes there
        resumed = _train(tmp_path / "machine-b", experiment, sweep.run_id, env)
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        record = json.loads((tmp_path / "machine-b" / "record.json").read_text())
        assert client.get_run(record["run_id"]).data.tags[RESUMED_FROM_STEP_TAG] == "10"
        snapshots = sorted(p.name for p in Path(record["checkpoint"]).parent.joinpath("snapshots").iterdir())
        assert len(snapshots) == 2  # the step-15 snapshot came with the state; step 35 was written here
        # an uninterrupted run of the same configuration (another sweep: nothing to fetch) ends identical
        other = start_run(client, experiment, "another sweep")
        whole = _train(tmp_path / "machine-c", experiment, other.run_id, env)
        assert whole.returncode == 0, whole.stderr[-3000:]
        record_c = json.loads((tmp_path / "machine-c" / "record.json").read_text())
        assert client.get_run(record_c["run_id"]).data.tags[RESUMED_FROM_STEP_TAG] == "0"
        resumed_weights = _weights(tmp_path / "machine-b" / "record.json")
        whole_weights = _weights(tmp_path / "machine-c" / "record.json")
        assert resumed_weights.keys() == whole_weights.keys()
        for name, tensor in whole_weights.items():
            assert torch.equal(resumed_weights[name], tensor), name
    finally:
        alive = services.stop_all()
        assert not alive, f"still running: {alive}"
