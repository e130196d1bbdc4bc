"""Scheduled retraining as users run it: a real Prefect server, a process work pool, the deployments of
`pipelines/prefect.yaml`, and a worker that picks up a run of the training deployment."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from betavae.data.acquire import acquire_dataset
from tests.helpers.project_copy import BIN, clean_env, copy_project, free_port, run_ok

pytestmark = pytest.mark.slow

PARAMS = {
    "data": {"dataset": "blobs", "datasets": {"blobs": {"kind": "blobs", "source": "procedural", "grid": 8}}},
    "model": {"architecture": "mlp64", "latent_dim": 3, "likelihood": "bernoulli"},
    "train": {"objective": "beta_vae", "beta": 4.0, "steps": 10, "batch_size": 16, "seed": 0, "device": "cpu",
              "checkpoint_every": 10, "log_every": 5},
    "sweep": {"name": "scheduled", "grid": {"train.beta": [2.0]}, "seeds": [0]},
}


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"prefect server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(1.0)
    raise TimeoutError(f"prefect server at {url} not healthy after {timeout} s")


@pytest.fixture
def prefect_server(tmp_path):
    project = copy_project(tmp_path / "project")
    env = clean_env(project)
    port = free_port()
    log = open(tmp_path / "server.log", "w")
    server = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                              cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT)
    api = f"http://127.0.0.1:{port}/api"
    try:
        _wait_healthy(api, server)
        env["PREFECT_API_URL"] = api
        yield project, env
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def test_worker_runs_the_training_deployment(prefect_server):
    project, env = prefect_server
    (project / "params.yaml").write_text(yaml.safe_dump(PARAMS))
    acquire_dataset("blobs", PARAMS["data"]["datasets"]["blobs"], project / "data" / "datasets", project)
    prefect = str(BIN / "prefect")
    run_ok([prefect, "work-pool", "create", "gpu", "--type", "process"], project, env)
    run_ok([prefect, "work-pool", "set-concurrency-limit", "gpu", "1"], project, env)
    run_ok([prefect, "--no-prompt", "deploy", "--all", "--prefect-file", "pipelines/prefect.yaml"], project, env)
    listing = run_ok([prefect, "deployment", "ls"], project, env).stdout
    assert "nightly-retrain" in listing and "evaluate" in listing

    overrides = json.dumps({"overrides": {"train": {"steps": 10, "checkpoint_every": 10, "log_every": 5}}})
    run_ok([prefect, "deployment", "run", "train-sweep/nightly-retrain", "--params", overrides], project, env)
    run_ok([prefect, "worker", "start", "--pool", "gpu", "--run-once"], project, env, timeout=420)

    sweep = json.loads((project / "models" / "blobs" / "sweep.json").read_text())
    assert [r["status"] for r in sweep["runs"]] == ["finished"]
    assert sweep["runs"][0]["config"]["train"]["steps"] == 10
    assert Path(sweep["runs"][0]["checkpoint"]).is_file()
    states = run_ok([prefect, "flow-run", "ls"], project, {**env, "COLUMNS": "250"}).stdout
    assert "train-sweep" in states and "COMPLETED" in states
