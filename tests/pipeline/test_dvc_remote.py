"""The DVC remote holds what a worker needs: the datasets and each run's final weights, so a fresh clone
`dvc pull`s them and finds the train stage up to date, weights byte for byte as trained."""

from __future__ import annotations

import hashlib

import pytest

from tests.helpers.project_copy import BIN, run_ok

pytestmark = pytest.mark.slow


def _digests(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_final_weights_and_data_travel_through_the_remote(project_copy, tmp_path):
    dest, env = project_copy
    dvc = str(BIN / "dvc")
    weights = _digests(dest / "models/blobs/checkpoints")
    assert weights and all(path.endswith("final.pt") for path in weights), weights
    run_ok([dvc, "remote", "add", "-d", "store", str(tmp_path / "remote")], dest, env)
    run_ok([dvc, "push"], dest, env)
    run_ok(["git", "add", "-A"], dest, env)
    run_ok(["git", "commit", "-qm", "trained"], dest, env)

    clone = tmp_path / "clone"
    run_ok(["git", "clone", "-q", str(dest), str(clone)], tmp_path, env)
    assert not (clone / "models/blobs/checkpoints").exists()
    run_ok([dvc, "pull", "train@blobs"], clone, env)
    assert _digests(clone / "models/blobs/checkpoints") == weights
    assert _digests(clone / "data/datasets/blobs") == _digests(dest / "data/datasets/blobs")
    status = run_ok([dvc, "status", "train@blobs"], clone, env).stdout
    assert "changed" not in status and "deleted" not in status, status
