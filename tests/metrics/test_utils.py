"""Known-value tests of the shared maths: mutual information, entropy, discretisation, settings."""

from __future__ import annotations

import math

import numpy as np
import pytest

from betavae.config.validation import from_mapping
from betavae.errors import ConfigError, DataError
from betavae.metrics import mig
from betavae.metrics.utils import (
    discretize,
    entropy,
    factor_entropies,
    mutual_information,
    mutual_information_matrix,
)

LOG2 = 0.6931471805599453


def test_mutual_information_of_equal_binary_arrays_is_log_2() -> None:
    assert mutual_information(np.array([0, 0, 1, 1]), np.array([0, 0, 1, 1])) == pytest.approx(LOG2, abs=1e-12)
    # Relabelling does not change the information.
    assert mutual_information(np.array([0, 0, 1, 1]), np.array([7, 7, 3, 3])) == pytest.approx(LOG2, abs=1e-12)


def test_mutual_information_of_independent_arrays_is_zero() -> None:
    assert mutual_information(np.array([0, 1, 0, 1]), np.array([0, 0, 1, 1])) == pytest.approx(0.0, abs=1e-12)


def test_mutual_information_hand_computed_asymmetric_case() -> None:
    # x = [0,0,0,1], y = [0,0,1,1]: p(0,0)=1/2, p(0,1)=1/4, p(1,1)=1/4; p_x=(3/4,1/4), p_y=(1/2,1/2).
    expected = (
        0.5 * math.log(0.5 / (0.75 * 0.5)) + 0.25 * math.log(0.25 / (0.75 * 0.5)) + 0.25 * math.log(0.25 / (0.25 * 0.5))
    )
    assert expected == pytest.approx(0.21576155433883568, abs=1e-15)
    assert mutual_information(np.array([0, 0, 0, 1]), np.array([0, 0, 1, 1])) == pytest.approx(expected, abs=1e-12)


def test_entropy_known_values() -> None:
    assert entropy(np.array([0, 0, 1, 1])) == pytest.approx(LOG2, abs=1e-12)
    assert entropy(np.array([3, 3, 3])) == 0.0
    assert entropy(np.arange(8)) == pytest.approx(math.log(8), abs=1e-12)
    np.testing.assert_allclose(
        factor_entropies(np.array([[0, 0], [1, 0], [2, 1], [3, 1]])), [math.log(4), LOG2], atol=1e-12
    )


def test_mutual_information_matrix_layout() -> None:
    codes = np.array([[0, 5], [0, 5], [1, 5], [1, 5]])
    factors = np.array([[0, 1], [0, 0], [1, 1], [1, 0]])
    mi = mutual_information_matrix(codes, factors)
    np.testing.assert_allclose(mi, [[LOG2, 0.0], [0.0, 0.0]], atol=1e-12)


def test_discretize_equal_width_bins() -> None:
    codes = np.array([[0.0, 5.0], [0.24, 5.0], [0.26, 5.0], [0.99, 5.0], [1.0, 5.0]])
    bins = discretize(codes, 4)
    np.testing.assert_array_equal(bins[:, 0], [0, 0, 1, 3, 3])  # the maximum falls into the last bin
    np.testing.assert_array_equal(bins[:, 1], [0, 0, 0, 0, 0])  # a constant latent is one bin
    # Positive affine maps leave the bins unchanged.
    np.testing.assert_array_equal(discretize(codes * 3.0 + 2.0, 4), bins)


def test_mig_hand_computed_from_codes() -> None:
    # Factor 0 copied by latent 0; latent 1 carries half a bit about it; factor 1 is binary, seen by latent 1.
    factors = np.array([[0, 0], [1, 1], [2, 0], [3, 1]])
    codes = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0], [3.0, 1.0]])
    scores = mig.from_codes(codes, factors, num_bins=20)
    # Factor 0: I(z0;f0) = log 4, I(z1;f0) = log 2 -> gap (log 4 - log 2) / log 4 = 0.5.
    # Factor 1: I(z1;f1) = log 2, I(z0;f1) = log 2 (z0 determines f1 too) -> gap 0.
    assert scores["gap.0"] == pytest.approx(0.5, abs=1e-12)
    assert scores["gap.1"] == pytest.approx(0.0, abs=1e-12)
    assert scores["score"] == pytest.approx(0.25, abs=1e-12)


def test_bad_inputs_raise_clear_errors() -> None:
    with pytest.raises(DataError, match="3 rows but factors have 2"):
        mig.from_codes(np.zeros((3, 2)), np.zeros((2, 1), dtype=int))
    with pytest.raises(DataError, match="integer class indices"):
        mig.from_codes(np.zeros((2, 2)), np.zeros((2, 1)))
    with pytest.raises(DataError, match="finite"):
        mig.from_codes(np.array([[0.0], [np.nan]]), np.array([[0], [1]]))
    with pytest.raises(ConfigError, match="mig.num_bin"):
        from_mapping(mig.Params, "mig", {"num_bin": 3}, what="setting")
    with pytest.raises(ConfigError, match="mig.num_train must be >= 2, got 0"):
        mig.Params(num_train=0)


def test_mutual_information_matrix_equals_scikit_learn_mutual_info_score():
    """The plug-in MI against the oracle sklearn.metrics.mutual_info_score, on dependent and independent
    columns with unused and non-contiguous label values."""
    from sklearn.metrics import mutual_info_score

    from betavae.metrics.utils import mutual_information_matrix

    rng = np.random.default_rng(0)
    factors = np.stack([rng.integers(0, 40, 3000), rng.integers(0, 3, 3000) * 7 + 2], axis=1)
    codes = np.stack(
        [factors[:, 0] // 2, rng.integers(0, 20, 3000), (factors[:, 1] + rng.integers(0, 2, 3000)) % 5], axis=1
    )
    expected = [[mutual_info_score(codes[:, i], factors[:, j]) for j in range(2)] for i in range(3)]
    np.testing.assert_allclose(mutual_information_matrix(codes, factors), expected, rtol=1e-12, atol=1e-14)
    assert expected[0][0] > 2.0 and expected[1][0] < 0.2  # informative and independent (plug-in bias only) pairs


def test_mutual_information_of_empty_samples_is_zero():
    assert mutual_information(np.array([], dtype=int), np.array([], dtype=int)) == 0.0
