"""A SIGKILL in the middle of validate, evaluate, render or register, then `dvc repro` again, ends where an
uninterrupted run ends: the same validation summary, scores, pictures and registry entry, no MLflow run
left RUNNING, no partial output taken for a result, every stage up to date.

(Acquire and train have their own tests: `tests/reliability/test_faults.py`, `tests/training/test_engine.py`
and `test_exp_run_faults.py`.) Each case works on its own copy of the shared end-to-end project.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from tests.helpers.project_copy import BIN, run_ok
from tests.helpers.stage_kill import cpu_seconds_at_least, kill_stage_when

pytestmark = pytest.mark.slow


def _validation(dest: Path) -> dict:
    summary = json.loads((dest / "data/validation/blobs/summary.json").read_text())
    return {k: summary[k] for k in ("success", "failed", "num_rows", "outcomes", "problems")}


SCORE_FILES = ("scores.json", "table.json", "table.md")


def _scores(dest: Path) -> dict:
    """The scores and the table, byte for byte (timings go to MLflow only, so nothing downstream re-runs)."""
    return {name: hashlib.sha256((dest / "metrics/blobs" / name).read_bytes()).hexdigest()
            for name in SCORE_FILES}


def _pictures(dest: Path) -> dict:
    root = dest / "plots/blobs"
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _registry(dest: Path) -> dict:
    entry = json.loads((dest / "models/blobs/registered.json").read_text())
    return {k: entry[k] for k in ("name", "version", "alias", "run_id", "metric", "value")}


def _uses_the_tracking_store(stage) -> bool:
    """Register spends most of its few CPU seconds importing; once it has `mlflow.db` open it is at work."""
    return any(f.path.endswith("mlflow.db") for f in stage.open_files())


# stage, what it produces, its output files, when to kill it (CPU seconds measured uninterrupted: validate 5,
# evaluate 11, render 14, register 3 on 2 cores)
CASES = {
    "validate": (_validation, lambda d: [d / "data/validation/blobs/summary.json"], cpu_seconds_at_least(3.0)),
    "evaluate": (_scores, lambda d: [d / "metrics/blobs" / n for n in SCORE_FILES], cpu_seconds_at_least(6.0)),
    "render": (_pictures, lambda d: [d / "plots/blobs" / n for n in _pictures(d)], cpu_seconds_at_least(7.0)),
    "register": (_registry, lambda d: [d / "models/blobs/registered.json"], _uses_the_tracking_store),
}


def _before_its_outputs(ready, outputs: list[Path]):
    """`ready`, and not all of `outputs` written yet (dvc deletes them before it runs the stage): a kill
    after the last one would leave a complete result, and prove nothing about a partial one."""
    return lambda stage: ready(stage) and not all(path.exists() for path in outputs)


@pytest.mark.parametrize("stage", list(CASES))
def test_sigkilled_stage_reruns_to_the_uninterrupted_result(project_copy, stage):
    from mlflow.tracking import MlflowClient

    dest, env = project_copy
    produced, outputs, ready = CASES[stage]
    expected = produced(dest)

    dvc = subprocess.Popen([str(BIN / "dvc"), "repro", "--force", "--single-item", f"{stage}@blobs"], cwd=dest,
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    kill_stage_when(dvc, f"pipelines.{stage}", _before_its_outputs(ready, outputs(dest)), timeout=300)
    out, _ = dvc.communicate(timeout=120)
    assert dvc.returncode != 0, f"dvc repro reported success for a killed stage:\n{out}"

    status = run_ok([str(BIN / "dvc"), "status", "--json"], dest, env).stdout
    assert f"{stage}@blobs" in json.loads(status), "dvc took the killed stage's outputs for a result"

    rerun = run_ok([str(BIN / "dvc"), "repro"], dest, env, timeout=600)
    ran = {line.split("'")[1] for line in rerun.stdout.splitlines() if line.startswith("Running stage")}
    assert f"{stage}@blobs" in ran
    if stage == "evaluate":  # the same scores, byte for byte: render, register and report stay up to date
        assert ran == {"evaluate@blobs"}, rerun.stdout
    assert produced(dest) == expected
    assert json.loads(run_ok([str(BIN / "dvc"), "status", "--json"], dest, env).stdout) == {}

    uri = f"sqlite:///{dest / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name("betavae-blobs").experiment_id])
    assert [r.info.run_name for r in runs if r.info.status == "RUNNING"] == []
    assert len(client.search_model_versions("name = 'betavae-blobs'")) == 1, "the re-run registered a new version"
