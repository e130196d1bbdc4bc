"""DCI: hand-computed importance matrices, and the full metric on synthetic codes."""

from __future__ import annotations

import numpy as np
import pytest

from betavae.errors import ConfigError, DataError
from betavae.metrics import dci
from tests.helpers.synthetic import SyntheticGrid, constant, duplicated, identity


def test_perfect_importance_scores_one() -> None:
    scores = dci.scores_from_importance(np.eye(3))
    assert scores == {"disentanglement": 1.0, "completeness": 1.0}


def test_hand_computed_importance_matrix() -> None:
    # R = [[3, 1], [0, 4]]: latent 0 (weight 4/8) splits 3:1, latent 1 (weight 4/8) is pure.
    # D = 0.5 (1 - H2(3/4, 1/4)) + 0.5 * 1 with H2(3/4, 1/4) = 0.8112781244591328.
    # Factor 0 (weight 3/8) is pure; factor 1 (weight 5/8) splits 1:4, H2(1/5, 4/5) = 0.7219280948873623.
    scores = dci.scores_from_importance(np.array([[3.0, 1.0], [0.0, 4.0]]))
    assert scores["disentanglement"] == pytest.approx(0.5943609377704336, abs=1e-12)
    assert scores["completeness"] == pytest.approx(0.5487949406953986, abs=1e-12)


def test_one_latent_for_two_factors_is_complete_but_not_disentangled() -> None:
    scores = dci.scores_from_importance(np.array([[1.0, 1.0], [0.0, 0.0]]))
    assert scores["disentanglement"] == pytest.approx(0.0, abs=1e-12)
    assert scores["completeness"] == pytest.approx(1.0, abs=1e-12)


def test_zero_importance_scores_zero_and_bad_matrix_raises() -> None:
    assert dci.scores_from_importance(np.zeros((2, 3))) == {"disentanglement": 0.0, "completeness": 0.0}
    with pytest.raises(DataError, match="non-negative"):
        dci.scores_from_importance(np.array([[1.0, -0.1]]))


@pytest.mark.parametrize("estimator", ["gbt", "hist_gbt"])
def test_identity_codes_are_disentangled_and_constant_codes_are_not(grid: SyntheticGrid, estimator: str) -> None:
    rng = np.random.default_rng(0)
    params = {"num_train": 600, "num_test": 300, "estimator": estimator, "n_estimators": 20}
    good = dci.compute(grid, identity, rng, **params)
    assert good["disentanglement"] >= 0.9
    assert good["completeness"] >= 0.9
    assert good["informativeness_test"] >= 0.9
    bad = dci.compute(grid, constant, np.random.default_rng(0), **params)
    assert bad["disentanglement"] == 0.0 and bad["completeness"] == 0.0
    assert bad["informativeness_test"] <= 0.6  # the majority class of each factor, about 1/size


def test_dci_from_codes_uses_first_rows_for_training() -> None:
    rng = np.random.default_rng(3)
    factors = rng.integers(0, 3, size=(400, 2))
    codes = factors.astype(float)
    scores = dci.from_codes(codes, factors, num_train=300, estimator="hist_gbt", n_estimators=10)
    assert scores["informativeness_train"] == 1.0 and scores["informativeness_test"] == 1.0
    with pytest.raises(DataError, match="num_train must lie in 1..399"):
        dci.from_codes(codes, factors, num_train=400)
    with pytest.raises(ConfigError, match="dci.estimator must be one of gbt, hist_gbt"):
        dci.from_codes(codes, factors, num_train=300, estimator="xgboost")


def test_duplicated_latents_keep_perfect_prediction(grid: SyntheticGrid) -> None:
    # Trees pick one copy of each duplicated latent, so DCI stays high: documented behaviour, unlike MIG.
    scores = dci.compute(
        grid, duplicated, np.random.default_rng(1), num_train=600, num_test=300, estimator="hist_gbt", n_estimators=20
    )
    assert scores["informativeness_test"] == 1.0
    assert scores["disentanglement"] >= 0.9


def test_exact_estimator_fits_factors_side_by_side_with_the_same_result() -> None:
    rng = np.random.default_rng(5)
    factors = np.stack([rng.integers(0, k, 500) for k in (2, 7, 4)], axis=1)
    codes = factors[:, [2, 0, 1, 1]] + rng.normal(scale=0.7, size=(500, 4))
    args = (codes[:400], factors[:400], codes[400:], factors[400:])
    serial = dci.importance_matrix(*args, dci.Params.parse({"n_estimators": 10}), seed=3)
    threaded = dci.importance_matrix(*args, dci.Params.parse({"n_estimators": 10, "num_threads": 3}), seed=3)
    for one, many in zip(serial, threaded, strict=True):
        np.testing.assert_array_equal(one, many)
    assert serial[0].shape == (4, 3) and np.allclose(serial[0].sum(axis=0), 1.0)
    assert serial[0][0, 2] > 0.5 and serial[0][1, 0] > 0.5  # factor 2 read from latent 0, factor 0 from latent 1
