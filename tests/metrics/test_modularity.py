"""Explicitness' one-vs-rest AUC against scikit-learn's `roc_auc_score` (the oracle), ties included."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from betavae.metrics.modularity import _mean_auc, one_vs_rest_auc


@pytest.mark.parametrize("rounding", [None, 1])  # 1 decimal: most scores tie with others
def test_one_vs_rest_auc_equals_roc_auc_score_per_class(rounding: int | None) -> None:
    rng = np.random.default_rng(0)
    classes = np.arange(6)
    y = rng.integers(0, 6, size=500)
    proba = rng.random((500, 6)) + 0.3 * (y[:, None] == classes)  # informative, but not perfectly
    if rounding is not None:
        proba = proba.round(rounding)
    expected = [roc_auc_score(y == c, proba[:, c]) for c in classes]
    np.testing.assert_allclose(one_vs_rest_auc(y, proba, classes), expected, rtol=0, atol=1e-12)
    assert 0.55 < float(np.mean(expected)) < 0.95


def test_classes_without_negatives_or_positives_are_left_out_of_the_mean() -> None:
    y = np.array([0, 0, 1, 1, 0])
    proba = np.array([[0.9, 0.1, 0.0], [0.8, 0.2, 0.0], [0.4, 0.6, 0.0], [0.3, 0.7, 0.0], [0.2, 0.8, 0.0]])
    auc = one_vs_rest_auc(y, proba, np.array([0, 1, 2]))  # class 2 never occurs
    assert auc[0] == pytest.approx(roc_auc_score(y == 0, proba[:, 0]))
    assert auc[1] == pytest.approx(roc_auc_score(y == 1, proba[:, 1]))
    assert np.isnan(auc[2])
    assert _mean_auc(y, proba, np.array([0, 1, 2])) == pytest.approx((auc[0] + auc[1]) / 2)
    assert _mean_auc(np.zeros(4, dtype=int), np.ones((4, 1)), np.array([0])) == 0.5  # nothing defined
