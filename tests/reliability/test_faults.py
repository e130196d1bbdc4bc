"""Faults and concurrent use: a killed acquisition leaves no partial dataset and a re-run ends where an
uninterrupted run ends; two processes share one tracking store; two `dvc repro` meet DVC's lock."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import yaml

from betavae.data.acquire import acquire_dataset
from tests.helpers.project_copy import BIN, ROOT, clean_env, copy_project

pytestmark = pytest.mark.slow

BLOBS = {"kind": "blobs", "source": "procedural", "grid": 120}  # 14,400 images: seconds to write


def stage_env(project):
    env = clean_env(project)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    return env


def test_sigkill_during_acquire_leaves_nothing_partial_and_a_rerun_matches(tmp_path):
    reference = acquire_dataset("blobs", BLOBS, tmp_path / "ref" / "data" / "datasets", tmp_path / "ref")
    project = tmp_path / "project"
    project.mkdir()
    params = yaml.safe_load((ROOT / "params.yaml").read_text())  # every section: acquire checks them all
    params["data"] = {"train_on": ["blobs"], "datasets": {"blobs": BLOBS}}
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    datasets = project / "data" / "datasets"
    cmd = [sys.executable, "-m", "pipelines.acquire", "blobs"]
    # mid-write: the dataset's temporary folder holds its images, not yet its factors or manifest
    stage = subprocess.run(
        cmd,
        cwd=project,
        env=stage_env(project) | {"BETAVAE_FAULT": "acquire:dataset-staged"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert stage.returncode == -signal.SIGKILL, f"the acquisition was not killed mid-write:\n{stage.stderr}"
    assert any(p.name.startswith(".blobs.tmp-") for p in datasets.iterdir()), "no partial write to clean up"
    assert not (datasets / "blobs").exists(), "a killed acquisition left a dataset directory readers would trust"
    proc = subprocess.run(cmd, cwd=project, env=stage_env(project), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in datasets.iterdir()) == ["blobs"], "the re-run did not clear the killed run's files"
    rerun, ref = (json.loads((d / "manifest.json").read_text()) for d in (datasets / "blobs", reference))
    assert rerun["files"] == ref["files"] and rerun["num_images"] == 14_400


WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from betavae.tracking.client import client_for, ensure_experiment, start_run
    root, name, start = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    client = client_for(root)
    while time.time() < start:
        time.sleep(0.01)
    for attempt in range(20):  # both processes may race to create the experiment
        try:
            experiment = ensure_experiment(client, "shared", root)
            break
        except Exception:
            time.sleep(0.2)
    run = start_run(client, experiment, name)
    for step in range(40):
        run.log_metrics({"loss": float(step), "other": -float(step)}, step=step)
    run.finish()
""")


def test_two_processes_logging_to_one_tracking_store_both_land(tmp_path):
    start = time.time() + 8
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), name, str(start)],
            env=stage_env(tmp_path),
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    for writer in writers:
        assert writer.wait(240) == 0, writer.stderr.read()[-3000:]
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("shared").experiment_id])
    assert sorted(r.info.run_name for r in runs) == ["a", "b"]
    for run in runs:
        assert run.info.status == "FINISHED"
        history = client.get_metric_history(run.info.run_id, "loss")
        assert [m.step for m in sorted(history, key=lambda m: m.step)] == list(range(40))


def test_two_dvc_repro_in_one_clone_fail_clearly_on_the_lock(tmp_path):
    project = copy_project(tmp_path)
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["data"] = {"train_on": ["blobs"], "datasets": {"blobs": BLOBS}}
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = clean_env(project)
    subprocess.run(["git", "init", "-q"], cwd=project, env=env, check=True)
    dvc = str(BIN / "dvc")
    gate = tmp_path / "release"  # the first repro's acquire stage holds here, inside DVC's lock, until released
    first = subprocess.Popen(
        [dvc, "repro", "acquire@blobs"],
        cwd=project,
        env=env | {"BETAVAE_PAUSE": f"acquire:dataset-staged:{gate}"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 300
    while not gate.with_name("release.reached").exists():
        assert first.poll() is None and time.monotonic() < deadline, "the first repro never reached its stage"
        time.sleep(0.05)
    second = subprocess.run(
        [dvc, "repro", "acquire@blobs"], cwd=project, env=env, capture_output=True, text=True, timeout=120
    )
    gate.touch()
    assert second.returncode != 0
    text = second.stdout + second.stderr
    assert "lock" in text.lower() and "Traceback" not in text, text
    assert first.wait(300) == 0, first.stdout.read()
    status = subprocess.run(
        [dvc, "status", "acquire@blobs", "--json"], cwd=project, env=env, capture_output=True, text=True, timeout=120
    )
    assert json.loads(status.stdout) == {}
    assert sorted(p.name for p in (project / "data" / "datasets").iterdir()) == ["blobs"]
