"""Factor response (Higgins et al. 2017 Fig. 6): known encoders on the closed-form block grid give known
mean activations, value by value."""

from __future__ import annotations

import numpy as np
from PIL import Image

from betavae.render.factor_response import factor_response, save_factor_response_png
from betavae.render.figure import SIZES
from tests.helpers.block_grid import BlockGrid


def block_position_encoder(images: np.ndarray) -> np.ndarray:
    """Reads the block back: z0 = x class, z1 = y class + 10 * size class, z2 = 7 (constant).

    A block image's top-left lit pixel sits at (2y, 2x) and its side is size + 1 (`tests.helpers.block_grid`).
    """
    codes = np.zeros((len(images), 3))
    for n, img in enumerate(images[..., 0]):
        rows, cols = np.nonzero(img)
        codes[n] = [cols.min() / 2, rows.min() / 2 + 10 * (rows.max() - rows.min()), 7.0]
    return codes


def test_heatmaps_hold_the_mean_activation_of_every_cell_per_group():
    data = BlockGrid()
    response = factor_response(
        data, block_position_encoder, np.random.default_rng(0), x="x", y="y", group="size", samples_per_cell=3
    )
    assert sorted(response.heatmaps) == [0, 1] and response.groups == [1.0, 2.0]
    ix, iy = np.meshgrid(np.arange(4), np.arange(4), indexing="ij")
    for size in (0, 1):
        heat = response.heatmaps[size]
        assert heat.shape == (3, 4, 4)  # (latents, posX classes, posY classes)
        np.testing.assert_array_equal(heat[0], ix)
        np.testing.assert_array_equal(heat[1], iy + 10 * size)
        np.testing.assert_array_equal(heat[2], np.full((4, 4), 7.0))
    assert response.curves == {}  # every factor is an axis or the group


def test_curves_average_over_the_factors_not_shown():
    data = BlockGrid()
    # no position axes: every factor but the group gets a curve; x and y average over the other classes
    response = factor_response(
        data, block_position_encoder, np.random.default_rng(0), x="none", y="none", group=None, samples_per_value=4000
    )
    assert response.heatmaps == {} and sorted(response.curves) == ["size", "x", "y"]
    size = response.curves["size"][0]  # (2 size classes, 3 latents)
    np.testing.assert_allclose(size[:, 1], [1.5, 11.5], atol=0.1)  # mean y class 1.5, + 10 per size class
    np.testing.assert_array_equal(size[:, 2], [7.0, 7.0])
    np.testing.assert_array_equal(response.curves["x"][0][:, 0], [0.0, 1.0, 2.0, 3.0])  # exact: z0 = x
    np.testing.assert_array_equal(response.values["size"], [1.0, 2.0])


def test_heatmap_picture_has_its_fixed_size_and_is_deterministic(tmp_path):
    data = BlockGrid()
    response = factor_response(data, block_position_encoder, np.random.default_rng(0), x="x", y="y", group="size")
    kl = np.array([0.5, 2.0, 0.0])
    a = save_factor_response_png(response, [1, 0, 2], kl, tmp_path / "a.png")
    b = save_factor_response_png(response, [1, 0, 2], kl, tmp_path / "b.png")
    assert a.read_bytes() == b.read_bytes()
    with Image.open(a) as img:
        assert img.size == SIZES["factor_response"]
