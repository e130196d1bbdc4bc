"""The DVC remote holds what a worker needs: the datasets and each run's final weights, so a fresh clone
`dvc pull`s them and its sweep record leads evaluate, render and register to the same weights."""

from __future__ import annotations

import hashlib

import pytest

from tests.helpers.project_copy import BIN, run_ok

pytestmark = pytest.mark.slow


def _digests(folder):
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_final_weights_and_data_travel_through_the_remote(project_copy, tmp_path):
    from betavae.tracking.sweep_record import read_sweep_record
    from betavae.training.checkpoint import load_checkpoint

    dest, env = project_copy
    dvc = str(BIN / "dvc")
    weights = _digests(dest / "models/blobs/weights")
    # each run's final weights and its one snapshot (`train.snapshots: [15]`)
    assert sorted(path.split("/", 1)[1] for path in weights) == sorted(
        ["snapshots/step-000000015.pt", "weights.pt"] * 2
    ), weights
    assert not list((dest / "models/blobs/checkpoints").rglob("*.pt")), "sealed runs keep no optimiser state"
    run_ok([dvc, "remote", "add", "-d", "store", str(tmp_path / "remote")], dest, env)
    run_ok([dvc, "push"], dest, env)
    run_ok(["git", "add", "-A"], dest, env)
    run_ok(["git", "commit", "-qm", "trained"], dest, env)

    clone = tmp_path / "clone"
    run_ok(["git", "clone", "-q", str(dest), str(clone)], tmp_path, env)
    assert not (clone / "models/blobs/weights").exists()
    run_ok([dvc, "pull", "--with-deps", "train@blobs"], clone, env)
    assert _digests(clone / "models/blobs/weights") == weights
    assert _digests(clone / "data/datasets/blobs") == _digests(dest / "data/datasets/blobs")

    for run in read_sweep_record(clone / "models/blobs/sweep.json").finished:
        assert run.checkpoint.startswith(str(clone / "models/blobs/weights")), run.checkpoint
        payload = load_checkpoint(run.checkpoint)
        assert payload["model"] and not payload["optimizers"]
