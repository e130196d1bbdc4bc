"""Files the stages write get the user's normal permissions (0o666 less the umask), not mkstemp's 0o600."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

from betavae.config import build_run_config
from betavae.evaluation.table import TableRow, write_table
from betavae.io import atomic_path, write_json
from betavae.render.traversal import save_traversal_png
from betavae.training.engine import train
from tests.helpers.datasets import write_block_grid
from tests.helpers.runs import InMemoryImages, random_binary_images, tiny_params


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o022, 0o027, 0o002])
def umask(request):
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


def test_json_and_raw_atomic_writes_follow_the_umask(tmp_path, umask):
    assert mode(write_json(tmp_path / "a.json", {"x": 1})) == 0o666 & ~umask
    with atomic_path(tmp_path / "b.bin") as tmp:
        tmp.write_bytes(b"x")
    assert mode(tmp_path / "b.bin") == 0o666 & ~umask
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_checkpoints_plots_reports_and_datasets_follow_the_umask(tmp_path, umask):
    expected = 0o666 & ~umask
    run = build_run_config(tiny_params(steps=2, checkpoint_every=1), "tiny")
    result = train(run, InMemoryImages(random_binary_images(32, 28)), tmp_path / "ckpt", progress=False)
    assert mode(result.checkpoint) == expected
    png = save_traversal_png(
        np.zeros((2 * 28, 3 * 28), dtype=np.float32), tmp_path / "plots" / "t.png", np.arange(2), np.ones(2), 2.0, 3
    )
    assert mode(png) == expected
    json_path, md_path = write_table(tmp_path / "metrics", "d", [TableRow("m", 0.5, 0.0, 1)])
    assert mode(json_path) == expected and mode(md_path) == expected
    dataset = write_block_grid(tmp_path / "data" / "blocks")
    assert {p.name: mode(p) for p in dataset.iterdir()} == {p.name: expected for p in dataset.iterdir()}
    assert mode(dataset) == 0o777 & ~umask
