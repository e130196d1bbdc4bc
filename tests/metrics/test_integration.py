"""The metrics on the project's own ground-truth classes (betavae.data), not only the synthetic grid."""

from __future__ import annotations

import numpy as np
import pytest

from betavae.errors import DataError
from betavae.evaluation import baselines
from betavae.metrics import dci, suite
from tests.helpers.block_grid import BlockGrid
from tests.helpers.synthetic import CountingRepresentation, SyntheticGrid, mixed

PARAMS = {
    "beta_vae": {"batch_size": 16, "num_train": 100, "num_eval": 100},
    "factor_vae": {"batch_size": 16, "num_train": 100, "num_eval": 100, "num_variance_estimate": 300},
    "mig": {"num_train": 500},
    "dci": {"num_train": 300, "num_test": 100, "estimator": "hist_gbt", "n_estimators": 10},
    "sap": {"num_train": 300, "num_test": 100},
    "modularity": {"num_train": 300, "num_test": 100},
}


def test_suite_on_block_grid_with_pca_and_ground_truth() -> None:
    data = BlockGrid()
    pca = baselines.pca(data, np.random.default_rng(0), num_components=3, num_samples=200)
    counting = CountingRepresentation(pca)
    scores = suite.evaluate(data, counting, np.random.default_rng(0), PARAMS)
    assert counting.calls == 1 and sum(counting.seen.values()) == data.num_images  # 32 images, once each
    assert all(np.isfinite(v) for v in scores.values())
    truth = suite.evaluate(data, baselines.ground_truth(data), np.random.default_rng(0), PARAMS)
    assert truth["beta_vae.eval_accuracy"] == 1.0 and truth["mig.score"] >= 0.99
    assert truth["dci.disentanglement"] >= 0.99
    with pytest.raises(DataError, match="outside 0..3"):
        baselines.ground_truth(data).codes(np.array([[4, 0, 0]]))


def test_histogram_and_exact_boosting_agree_closely(grid: SyntheticGrid) -> None:
    # The suite's parameter sets use hist_gbt instead of the reference GradientBoostingClassifier;
    # on a partly entangled code the two DCI scores differ by a few points at most.
    factors = grid.sample_factors(1200, np.random.default_rng(9))
    codes = mixed(grid.sample_observations_from_factors(factors, np.random.default_rng(0)))
    exact = dci.from_codes(codes, factors, num_train=900, estimator="gbt", n_estimators=30)
    hist = dci.from_codes(codes, factors, num_train=900, estimator="hist_gbt", n_estimators=30)
    for key in ("disentanglement", "completeness", "informativeness_test"):
        assert abs(exact[key] - hist[key]) < 0.05, (key, exact[key], hist[key])
