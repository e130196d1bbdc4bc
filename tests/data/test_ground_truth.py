"""The ground-truth interface on the closed-form BlockGrid."""

from __future__ import annotations

import numpy as np
import pytest

from betavae.data.ground_truth import grid_strides
from betavae.errors import DataError
from tests.helpers.block_grid import BlockGrid, block_image


def test_grid_strides_match_dsprites_order() -> None:
    assert grid_strides((3, 6, 40, 32, 32)).tolist() == [245760, 40960, 1024, 32, 1]
    assert grid_strides((1, 3, 6, 40, 32, 32))[0] == 737280


def test_block_grid_images_are_known() -> None:
    grid = BlockGrid()
    assert grid.num_images == 32 and grid.images.shape == (32, 8, 8, 1)
    img = grid.images[grid.classes_to_index(np.array([[3, 1, 1]]))[0]]
    assert img[2:4, 6:8, 0].tolist() == [[1, 1], [1, 1]]
    assert int(img.sum()) == 4
    assert int(block_image(0, 0, 0).sum()) == 1 and block_image(0, 0, 0)[0, 0, 0] == 1
    # last factor fastest: rows 0 and 1 differ only in size
    assert grid.index_to_classes(np.array([0, 1, 2, 31])).tolist() == [[0, 0, 0], [0, 0, 1], [0, 1, 0], [3, 3, 1]]


def test_index_and_classes_are_inverse() -> None:
    grid = BlockGrid()
    idx = np.arange(32)
    assert np.array_equal(grid.classes_to_index(grid.index_to_classes(idx)), idx)


def test_sample_is_reproducible_and_consistent() -> None:
    grid = BlockGrid()
    f1, x1 = grid.sample(50, np.random.default_rng(7))
    f2, x2 = grid.sample(50, np.random.default_rng(7))
    assert np.array_equal(f1, f2) and np.array_equal(x1, x2)
    assert f1.dtype == np.int64 and f1.shape == (50, 3) and x1.shape == (50, 8, 8, 1)
    assert f1.min() == 0 and f1[:, 0].max() == 3 and f1[:, 2].max() == 1
    assert np.array_equal(x1.reshape(50, -1).sum(axis=1), (f1[:, 2] + 1) ** 2)


def test_bad_factors_raise() -> None:
    grid = BlockGrid()
    with pytest.raises(DataError, match=r"factor 'size' class 2 in row 0 is outside 0..1"):
        grid.classes_to_index(np.array([[0, 0, 2]]))
    with pytest.raises(DataError, match=r"shape \(n, 3\)"):
        grid.classes_to_index(np.array([0, 0, 1]))
    with pytest.raises(DataError, match="integer"):
        grid.sample_observations_from_factors(np.array([[0.5, 0, 0]]), np.random.default_rng(0))
    with pytest.raises(DataError, match="0..31"):
        grid.index_to_classes(np.array([32]))
    with pytest.raises(DataError, match="non-negative integer"):
        grid.sample_factors(-1, np.random.default_rng(0))
