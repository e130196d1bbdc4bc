"""Load on the shared stack: 8 processes train and log at once to one `mlflow server` on PostgreSQL + S3,
then two processes on "different machines" (separate lock folders) promote at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.project_copy import ROOT, clean_env
from tests.integration.load_process import LOG_EVERY, STEPS
from tests.integration.services import AWS, Services

pytestmark = pytest.mark.slow

TRAINERS = 8


def _start_together(commands: list[tuple[list[str], dict]], go: Path) -> list[subprocess.Popen]:
    """Start the processes (command, environment), wait until each has imported everything and opened the
    store, then release them at once (each waits for the `go` file; its last argument is its output)."""
    procs = [
        subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for cmd, env in commands
    ]
    deadline = time.monotonic() + 300
    ready = [Path(cmd[-1] + ".ready") for cmd, _ in commands]
    while not all(r.exists() for r in ready):
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs), [p.poll() for p in procs]
        time.sleep(0.05)
    go.touch()
    return procs


def _finish(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out[-3000:]


def test_eight_trainers_and_two_promotions_at_once_on_the_shared_store(tmp_path, monkeypatch):
    services = Services(tmp_path)
    env = {**clean_env(ROOT), **AWS}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    try:
        backend = services.postgres()
        env["MLFLOW_S3_ENDPOINT_URL"] = services.s3(env, tmp_path, ["mlflow"])
        tracking = services.mlflow(backend, "s3://mlflow/artifacts", env, tmp_path)
        env["MLFLOW_TRACKING_URI"] = tracking
        for key in ("MLFLOW_TRACKING_URI", "MLFLOW_S3_ENDPOINT_URL", *AWS):
            monkeypatch.setenv(key, env[key])
        from mlflow.tracking import MlflowClient

        from betavae.tracking.client import ensure_experiment, start_run

        client = MlflowClient(tracking_uri=tracking, registry_uri=tracking)
        experiment = ensure_experiment(client, "betavae-load", tmp_path)
        parent = start_run(client, experiment, "load")

        go = tmp_path / "go-train"
        outs = [str(tmp_path / f"trainer-{i}.json") for i in range(TRAINERS)]
        commands = []
        for i, out in enumerate(outs):  # each trainer is its own project folder, as on its own machine
            (tmp_path / f"p{i}").mkdir()
            cmd = ["tests.integration.load_process", str(tmp_path / f"p{i}"), experiment, parent.run_id, str(i)]
            commands.append(([sys.executable, "-m", *cmd, str(go), out], env))
        _finish(_start_together(commands, go))
        parent.finish()

        records = [json.loads(Path(out).read_text()) for out in outs]
        runs = client.search_runs([experiment], filter_string=f"tags.mlflow.parentRunId = '{parent.run_id}'")
        assert sorted(r.info.run_id for r in runs) == sorted(r["run_id"] for r in records)
        assert {r.info.status for r in client.search_runs([experiment])} == {"FINISHED"}  # none left RUNNING
        for run in runs:
            history = client.get_metric_history(run.info.run_id, "total")
            assert [m.step for m in history] == list(range(LOG_EVERY, STEPS + 1, LOG_EVERY))
            files = {f.path for f in client.list_artifacts(run.info.run_id, "model")}
            assert {"model/MLmodel", "model/artifacts"} <= files, files

        # two promotions at once from two machines (separate lock folders): the better one ends champion
        from betavae.tracking.promotion import register_run

        first, *contenders = records[:3]
        register_run(
            client,
            run_id=first["run_id"],
            model_source=first["model_uri"],
            dataset="load",
            metric="m",
            mode="max",
            value=0.6,
            scores={"m": 0.6},
        )
        go = tmp_path / "go-register"
        outs = [str(tmp_path / f"register-{i}.json") for i in range(2)]
        commands = []
        for record, value, out, lock in zip(contenders, ("0.5", "0.7"), outs, ("a", "b"), strict=True):
            cmd = ["tests.registry.register_process", str(tmp_path), record["run_id"], record["model_uri"], "load"]
            commands.append(
                (
                    [sys.executable, "-m", *cmd, value, str(go), out],
                    env | {"BETAVAE_LOCK_DIR": str(tmp_path / f"locks-{lock}")},
                )
            )
        _finish(_start_together(commands, go))
        worse, best = (json.loads(Path(out).read_text()) for out in outs)
        champion = client.get_model_version_by_alias("betavae-load", "champion")
        challenger = client.get_model_version_by_alias("betavae-load", "challenger")
        assert int(champion.version) == best["version"] and int(challenger.version) == worse["version"]
        assert len(client.search_model_versions("name = 'betavae-load'")) == 3
    finally:
        alive = services.stop_all()
        assert not alive, f"still running: {alive}"
