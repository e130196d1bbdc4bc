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

pytestmark = pytest.mark.slow


def _validation(dest: Path) -> dict:
    summary = json.loads((dest / "data/validation/blobs/summary.json").read_text())
    return {k: summary[k] for k in ("success", "failed", "num_rows", "outcomes", "problems")}


SCORE_FILES = ("scores.json", "table.json", "table.md")


def _scores(dest: Path) -> dict:
    """The scores and the table, byte for byte (timings go to MLflow only, so nothing downstream re-runs)."""
    return {name: hashlib.sha256((dest / "metrics/blobs" / name).read_bytes()).hexdigest() for name in SCORE_FILES}


def _pictures(dest: Path) -> dict:
    root = dest / "plots/blobs"
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _registry(dest: Path) -> dict:
    entry = json.loads((dest / "models/blobs/registered.json").read_text())
    return {k: entry[k] for k in ("name", "version", "alias", "run_id", "metric", "value")}


# stage, what it produces, its output files, and where the stage kills itself (BETAVAE_FAULT): a point the code
# reaches on every machine, however idle or loaded, while some of the outputs are still missing.
CASES = {
    "validate": (
        _validation,
        lambda d: [d / "data/validation/blobs" / n for n in ("summary.json", "verdict.json")],
        "output-written",
    ),
    "evaluate": (_scores, lambda d: [d / "metrics/blobs" / n for n in SCORE_FILES], "output-written"),
    "render": (_pictures, lambda d: [d / "plots/blobs" / n for n in _pictures(d)], "output-written"),
    "register": (_registry, lambda d: [d / "models/blobs/registered.json"], "registry-locked"),
}


@pytest.mark.parametrize("stage", list(CASES))
def test_sigkilled_stage_reruns_to_the_uninterrupted_result(project_copy, stage):
    from mlflow.tracking import MlflowClient

    dest, env = project_copy
    produced, outputs, point = CASES[stage]
    expected = produced(dest)
    files = outputs(dest)
    assert files and all(path.exists() for path in files)

    killed = subprocess.run(
        [str(BIN / "dvc"), "repro", "--force", "--single-item", f"{stage}@blobs"],
        cwd=dest,
        env=env | {"BETAVAE_FAULT": f"{stage}:{point}"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = killed.stdout + killed.stderr
    assert killed.returncode != 0, f"dvc repro reported success for a killed stage:\n{out}"
    # 137 = 128 + SIGKILL, as the shell dvc runs the stage in reports a process killed by the signal
    assert "exited with 137" in out, f"the stage did not die by SIGKILL at {point}:\n{out}"
    assert not all(path.exists() for path in files), "the kill came after the last output: it proves nothing"

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
