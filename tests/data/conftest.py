"""Shared fixtures for the data tests: a small stored dataset with known contents."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from betavae.data import dsprites
from tests.helpers.datasets import write_block_grid

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


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
