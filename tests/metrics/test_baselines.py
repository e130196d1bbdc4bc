"""Baseline representations: ground truth scores perfectly, projections are fitted and whitened."""

from __future__ import annotations

import numpy as np
import pytest

from betavae.errors import ConfigError, DataError
from betavae.evaluation import baselines
from betavae.metrics import suite
from betavae.metrics.cache import GridCodeCache, PairDifferenceSource
from betavae.metrics.z_diff import z_diff_features
from tests.helpers.synthetic import SyntheticGrid


class BlobGrid(SyntheticGrid):
    """The synthetic grid drawn as 8x8 images: a bright square whose position and size are factors."""

    def __init__(self) -> None:
        super().__init__((4, 4, 2))
        self.observation_shape = (8, 8, 1)
        classes = self.index_to_classes(np.arange(self.num_images))
        images = np.zeros((self.num_images, 8, 8, 1), dtype=np.uint8)
        for i, (x, y, s) in enumerate(classes):
            images[i, y : y + 3 + s, x : x + 3 + s, 0] = 200
        self.images = images


def test_ground_truth_scores_perfectly(grid: SyntheticGrid) -> None:
    params = {"beta_vae": {"batch_size": 16, "num_train": 100, "num_eval": 100}, "mig": {"num_train": 1000}}
    for encoding in ("index", "onehot"):
        scores = suite.evaluate(grid, baselines.ground_truth(grid, encoding), np.random.default_rng(0), params)
        assert scores["beta_vae.eval_accuracy"] == 1.0
    index_mig = suite.evaluate(grid, baselines.ground_truth(grid), np.random.default_rng(0), params)["mig.score"]
    assert index_mig >= 0.99


def test_onehot_layout(grid: SyntheticGrid) -> None:
    codes = baselines.ground_truth(grid, "onehot").codes(np.array([[1, 2, 0, 0, 1, 3]]))
    expected = np.zeros(2 + 3 + 4 + 3 + 2 + 4)
    expected[[1, 2 + 2, 5 + 0, 9 + 0, 12 + 1, 14 + 3]] = 1.0
    np.testing.assert_array_equal(codes[0], expected)
    with pytest.raises(ConfigError, match="encoding"):
        baselines.ground_truth(grid, "binary")


def test_raw_pixels_are_scaled_and_flat() -> None:
    data = BlobGrid()
    codes = baselines.raw_pixels(data)(data.images[:3])
    assert codes.shape == (3, 64) and codes.dtype == np.float32
    assert codes.max() == pytest.approx(200 / 255)
    factors = data.index_to_classes(np.arange(3))
    np.testing.assert_array_equal(baselines.raw_pixels(data).codes(factors), codes)


def _pixel_features(data, source, choices=None):
    rng = np.random.default_rng(7)
    return z_diff_features(data, source, 300, 16, rng, np.random.default_rng(8), choices)


@pytest.mark.parametrize("binary", [True, False])
def test_raw_pixel_pair_features_in_integers_match_the_float_codes(binary: bool) -> None:
    """Eq. 5 on the images' integers equals Eq. 5 on the float codes: bit for bit on binary images,
    within the float32 rounding of the scaled pixels otherwise."""
    data = BlobGrid()
    if binary:
        data.images = (data.images > 0).astype(np.uint8)
        data.max_pixel_value = 1
    floats = GridCodeCache(data, baselines.PixelCodes(data.max_pixel_value))
    expected, expected_labels = _pixel_features(data, floats, np.array([0, 2]))
    source = baselines.raw_pixels(data)
    assert isinstance(source, PairDifferenceSource) and not isinstance(floats, PairDifferenceSource)
    features, labels = _pixel_features(data, source, np.array([0, 2]))
    np.testing.assert_array_equal(labels, expected_labels)
    assert features.dtype == np.float64 and features.shape == (300, 64)
    if binary:
        np.testing.assert_array_equal(features, expected)
    else:
        np.testing.assert_allclose(features, expected, rtol=1e-6, atol=0)
        assert not np.array_equal(features, expected)  # the float path rounds each scaled pixel
    # by hand: one point of two pairs, (square at 0,0 size 0 vs 3,3 size 1) and (identical squares)
    first, second = np.array([[[0, 0, 0], [1, 1, 0]]]), np.array([[[3, 3, 1], [1, 1, 0]]])
    value = 200 if not binary else 1
    by_hand = np.zeros((8, 8))
    by_hand[0:3, 0:3] = value  # the first square; the second (rows and columns 3..6) does not overlap it
    by_hand[3:7, 3:7] = value
    np.testing.assert_array_equal(
        source.mean_abs_difference(first, second)[0], by_hand.ravel() / (2 * data.max_pixel_value)
    )


def test_raw_pixel_pair_features_refuse_mismatched_pairs() -> None:
    source = baselines.raw_pixels(BlobGrid())
    with pytest.raises(DataError, match="pair factors"):
        source.mean_abs_difference(np.zeros((2, 4, 3), dtype=np.int64), np.zeros((2, 5, 3), dtype=np.int64))


@pytest.mark.parametrize("name", ["pca", "ica"])
def test_projections_give_ten_whitened_components(name: str) -> None:
    data = BlobGrid()
    rep = baselines.build(name, data, np.random.default_rng(0), num_samples=400)
    codes = rep(data.images)
    assert codes.shape == (32, 10)
    # The fit used the first draw of the same generator: on that sample the components are white.
    fit_images = data.sample(400, np.random.default_rng(0))[1]
    np.testing.assert_allclose(np.cov(rep(fit_images).T), np.eye(10), atol=1e-4)  # float32 pixels
    again = baselines.build(name, data, np.random.default_rng(0), num_samples=400)
    np.testing.assert_allclose(again(data.images), codes)  # the fit is a function of the rng


def test_baseline_arguments_are_checked() -> None:
    data = BlobGrid()
    with pytest.raises(ConfigError, match="num_samples"):
        baselines.pca(data, np.random.default_rng(0), num_samples=5)
    with pytest.raises(ConfigError, match="unknown baseline"):
        baselines.build("nmf", data, np.random.default_rng(0))
