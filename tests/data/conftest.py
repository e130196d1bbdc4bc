"""Shared fixtures for the data tests: a small stored dataset with known contents."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from betavae.data import dsprites
from betavae.data.dummy import BlockGrid
from betavae.data.storage import write_dataset

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def write_block_grid(out_dir: Path) -> Path:
    """Store the 32-image BlockGrid under ``out_dir``."""
    grid = BlockGrid()
    return write_dataset(
        out_dir,
        name="blocks",
        kind="dummy",
        images=grid.images,
        factor_names=grid.factor_names,
        factor_sizes=grid.factor_sizes,
        factor_values=grid.factor_values,
        factor_classes=grid.all_classes,
        binary=True,
        source="procedural",
    )


@pytest.fixture
def block_dir(tmp_path: Path) -> Path:
    """A freshly written BlockGrid dataset directory."""
    return write_block_grid(tmp_path / "blocks")


@pytest.fixture(scope="session")
def real_dsprites() -> dict[str, np.ndarray]:
    """The 12 real dSprites images of tests/fixtures with their factor classes (shape, scale, orientation, x, y)."""
    data = np.load(FIXTURES / "dsprites_real_12.npz")
    classes = dsprites.classes_from_values(data["latents_values"])
    return {"imgs": data["imgs"], "classes": classes}
