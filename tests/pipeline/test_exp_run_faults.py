"""Faults during an experiment: `dvc exp run` with its train stage SIGKILLed, then run again.

Works on its own copy of the shared end-to-end project (`project_copy`), so the other end-to-end files
see the project as `dvc repro` left it.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.helpers.project_copy import BIN, run_ok

pytestmark = pytest.mark.slow


def test_exp_run_survives_a_killed_train_stage_and_commits_scores_not_checkpoints(project_copy):
    """A SIGKILL mid-train, then the same `dvc exp run` again: training resumes, no MLflow run stays RUNNING,
    and the experiment commit holds the scores (listed by `dvc exp show` and `dvc metrics diff`) and no file
    over 1 MB."""
    from mlflow.tracking import MlflowClient

    dest, env = project_copy
    cmd = [str(BIN / "dvc"), "exp", "run", "-S", "train.steps=60", "--name", "longer"]
    # The train stage kills itself once the first configuration's first checkpoint is on disk (step 20 of 60).
    killed = subprocess.run(
        cmd,
        cwd=dest,
        env=env | {"BETAVAE_FAULT": "train:checkpoint-written"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert killed.returncode != 0 and "exited with 137" in killed.stdout + killed.stderr, killed.stdout + killed.stderr
    proc = run_ok(cmd, dest, env, timeout=900)
    assert "Running stage 'register@blobs'" in proc.stdout

    sweep = json.loads((dest / "models/blobs/sweep.json").read_text())
    assert [r["status"] for r in sweep["runs"]] == ["finished", "finished"]
    assert all(r["config"]["train"]["steps"] == 60 for r in sweep["runs"])
    uri = f"sqlite:///{dest / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name("betavae-blobs").experiment_id])
    assert [r.info.run_name for r in runs if r.info.status == "RUNNING"] == []
    killed = [r for r in runs if r.info.status == "KILLED"]
    assert killed and all("ended before the run finished" in r.data.tags["betavae.failure_reason"] for r in killed)
    resumed = [r for r in runs if r.data.tags.get("betavae.resumed_from_step", "0") not in ("0", "")]
    assert resumed, "the re-run trained from scratch instead of resuming the killed run's checkpoint"

    shown = json.loads(run_ok([str(BIN / "dvc"), "exp", "show", "--json"], dest, env).stdout)
    assert "beta_vae-beta=1-seed=0" in json.dumps(shown) and "mig.score" in json.dumps(shown)
    diff = run_ok([str(BIN / "dvc"), "metrics", "diff", "--json"], dest, env).stdout
    assert "beta_vae.eval_accuracy" in diff
    exp_rev = run_ok([str(BIN / "dvc"), "exp", "list", "--sha-only"], dest, env).stdout.split()
    assert exp_rev, "dvc exp run made no experiment commit"
    tree = run_ok(["git", "ls-tree", "-r", "-l", exp_rev[-1]], dest, env).stdout.splitlines()
    files = {line.split("\t")[1]: int(line.split()[3]) for line in tree}
    assert "metrics/blobs/scores.json" in files and "dvc.lock" in files
    assert {path: size for path, size in files.items() if size > 1_000_000} == {}
    assert not [path for path in files if "checkpoints" in path or path.endswith(".pt")]
