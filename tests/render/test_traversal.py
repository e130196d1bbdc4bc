"""Latent traversals: pixel-exact grids from a decoder whose output is known."""

from __future__ import annotations

import numpy as np
from PIL import Image

from betavae.evaluation.inference import kl_per_latent
from betavae.render.traversal import save_traversal_png, traversal_grid
from tests.helpers.decoders import KnownDecoder, expected_pixel


def test_grid_rows_follow_the_order_and_columns_the_values():
    model = KnownDecoder()
    seed = np.zeros((2, 3, 1), dtype=np.uint8)
    grid = traversal_grid(model, seed, 1, order=np.array([1, 0]), limit=1.0, steps=3)
    assert grid.shape == (2 * 2, 3 * 3, 1) and grid.dtype == np.uint8
    values = [-1.0, 0.0, 1.0]
    for col, v in enumerate(values):
        # row 0 sweeps z1 with z0 = 0.5; row 1 sweeps z0 with z1 = -1
        row0 = grid[0:2, 3 * col : 3 * col + 3, 0]
        row1 = grid[2:4, 3 * col : 3 * col + 3, 0]
        assert (row0 == expected_pixel(0.5 + 10.0 * v)).all()
        assert (row1 == expected_pixel(v - 10.0)).all()


def test_kl_per_latent_matches_the_closed_form():
    model = KnownDecoder()
    images = np.zeros((5, 2, 3, 1), dtype=np.uint8)
    kl = kl_per_latent(model, images, 1)
    np.testing.assert_allclose(kl, [0.125, 0.5, 0.0], atol=1e-7)  # KL = mu^2 / 2 when logvar = 0


def test_png_is_written_with_the_grid(tmp_path):
    grid = np.full((8, 12, 1), 200, dtype=np.uint8)
    path = save_traversal_png(grid, tmp_path / "t.png", np.array([1, 0]), np.array([0.1, 2.0]), 2.0, steps=3)
    with Image.open(path) as img:
        assert img.format == "PNG" and img.size[0] > 12
    assert not list(tmp_path.glob(".*tmp"))
