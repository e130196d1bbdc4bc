"""A full disk and a damaged or unreachable tracking store answer in one line naming the place, and leave
no partial output.

The disk is a real tmpfs of a few kilobytes (`tests.helpers.disk`), so each write fails with the kernel's
own ENOSPC at whatever point it fills up, through whichever library is writing (json, torch, matplotlib,
the dataset writer, MLflow's artifact download).
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import yaml

from betavae.cli import main
from betavae.config import build_run_config
from betavae.data.storage.writer import write_dataset
from betavae.errors import DiskFull
from betavae.io import write_json
from betavae.models import build_model
from betavae.render.figure import new_figure, save_png
from betavae.training.checkpoint import save_snapshot
from tests.helpers.disk import leftovers, small_disk
from tests.helpers.project_copy import ROOT, clean_env
from tests.helpers.runs import register_tiny_model, tiny_params


def test_a_json_file_on_a_full_disk(tmp_path):
    with small_disk(tmp_path / "disk", kib=16) as disk:
        with pytest.raises(DiskFull, match=f"^no space left on {disk}$"):
            write_json(disk / "scores.json", {"x": "a" * 200_000})
        assert leftovers(disk) == []


def test_a_snapshot_on_a_full_disk(tmp_path):
    run = build_run_config(tiny_params(), "tiny")
    model = build_model(run.model, (28, 28, 1))
    with small_disk(tmp_path / "disk", kib=16) as disk:
        with pytest.raises(DiskFull, match=f"^no space left on {disk / 'snapshots'}$"):
            save_snapshot(
                disk / "snapshots" / "step-000000010.pt",
                run=run,
                step=10,
                model=model,
                data_digest="d",
                observation_shape=(28, 28, 1),
            )
        assert leftovers(disk) == ["snapshots"]  # the folder, empty: no temporary file


def test_a_plot_on_a_full_disk(tmp_path):
    fig, axes = new_figure("over_training")
    axes[0, 0].imshow(np.random.default_rng(0).random((256, 256)))
    with small_disk(tmp_path / "disk", kib=16) as disk:
        with pytest.raises(DiskFull, match=f"^no space left on {disk}$"):
            save_png(fig, disk / "over_training.png")
        assert leftovers(disk) == []


def test_a_dataset_on_a_full_disk(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (64, 32, 32, 3), dtype=np.uint8)  # incompressible
    with small_disk(tmp_path / "disk", kib=64) as disk:
        with pytest.raises(DiskFull, match=f"^no space left on {disk}$"):
            write_dataset(
                disk / "noise",
                name="noise",
                kind="images",
                images=images,
                factor_names=[],
                factor_sizes=[],
                factor_values=[],
                factor_classes=None,
                binary=False,
                source="path",
            )
        assert leftovers(disk) == []


def _stage(module: str, *args: str, project) -> subprocess.CompletedProcess:
    env = clean_env(project)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=project, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.mark.slow
def test_the_acquire_stage_on_a_full_disk(tmp_path):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"] = {
        "train_on": ["blobs"],
        "datasets": {"blobs": {"kind": "blobs", "source": "procedural", "grid": 12}},
    }
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    with small_disk(tmp_path / "data" / "datasets", kib=8) as disk:
        proc = _stage("pipelines.acquire", "blobs", project=tmp_path)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr
        errors = [line for line in proc.stderr.splitlines() if not line.startswith("INFO ")]
        assert errors == [f"error: no space left on {disk}"]
        assert leftovers(disk) == []


@pytest.fixture(scope="module")
def registered(tmp_path_factory):
    """A project holding one registered tiny model, `betavae-tiny@champion`."""
    root = tmp_path_factory.mktemp("registered")
    register_tiny_model(root)
    return root


@pytest.mark.slow
def test_pull_onto_a_full_disk(registered, tmp_path, capsys):
    with small_disk(tmp_path / "disk", kib=64) as disk:
        code = main(["--root", str(registered), "pull", "tiny", "--out", str(disk / "model")])
        err = capsys.readouterr().err
        assert code == 1
        assert err.strip().splitlines() == [f"error: no space left on {disk}"]
        assert leftovers(disk) == []


@pytest.mark.slow
def test_pull_from_a_damaged_tracking_store(registered, tmp_path, capsys):
    damaged = tmp_path / "project"
    damaged.mkdir()
    db = (registered / "mlflow.db").read_bytes()
    (damaged / "mlflow.db").write_bytes(db[: len(db) // 3])  # truncated: a copy cut short
    code = main(["--root", str(damaged), "pull", "tiny", "--out", str(tmp_path / "model")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    store = f"sqlite:///{damaged / 'mlflow.db'}"
    assert len(err) == 1 and err[0].startswith(f"error: tracking store {store} cannot be opened: "), err
    assert not (tmp_path / "model").exists()


@pytest.mark.slow
def test_pull_from_a_file_that_is_not_a_database(tmp_path, capsys):
    (tmp_path / "mlflow.db").write_bytes(os.urandom(4096))
    code = main(["--root", str(tmp_path), "pull", "tiny", "--out", str(tmp_path / "model")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1
    assert "cannot be opened: DatabaseError: file is not a database" in err[0]


def test_pull_from_a_tracking_server_that_is_down(tmp_path, capsys, monkeypatch):
    from tests.helpers.project_copy import free_port

    uri = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    code = main(["--root", str(tmp_path), "pull", "tiny", "--out", str(tmp_path / "model")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1, err
    assert err[0].startswith(f"error: tracking store {uri} cannot be reached: ") and "Connection refused" in err[0]
    assert not (tmp_path / "model").exists()
