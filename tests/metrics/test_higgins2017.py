"""The BetaVAE score by Higgins et al. 2017, Appendix A.4 (protocol higgins2017), on codes with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from betavae.errors import ConfigError
from betavae.metrics import beta_vae, higgins2017, suite
from betavae.metrics.cache import as_code_source
from betavae.metrics.z_diff import z_diff_features
from tests.helpers.synthetic import SyntheticGrid, constant, identity

SMALL = {"protocol": "higgins2017", "batch_size": 16, "num_train": 200, "num_eval": 200}


def test_label_is_drawn_from_the_subset_and_other_factors_are_redrawn(grid: SyntheticGrid) -> None:
    source = as_code_source(grid, identity)
    rng = np.random.default_rng(0)
    features, labels = z_diff_features(grid, source, 300, 32, rng, rng, choices=np.array([4, 1]))
    assert set(np.unique(labels)) == {0, 1}  # positions in the subset, not factor columns
    assert np.all(features[labels == 0, 4] == 0) and np.all(features[labels == 1, 1] == 0)
    # every factor outside the held one differs within pairs, shape-like factor 0 included
    assert features[:, 0].min() > 0 and features[labels == 0, 1].min() > 0


def test_identity_code_scores_one_on_the_subset(grid: SyntheticGrid) -> None:
    params = {**SMALL, "factors": ["f1", "f2", "f3"]}
    scores = beta_vae.compute(grid, identity, np.random.default_rng(0), **params)
    assert scores["eval_accuracy"] == 1.0 and scores["train_accuracy"] >= 0.98
    assert scores["classifier_epochs"] >= 1


def test_code_of_an_excluded_factor_scores_chance(grid: SyntheticGrid) -> None:
    def only_f0(images: np.ndarray) -> np.ndarray:  # encodes factor 0 alone, which y never names
        return identity(images)[:, :1]

    params = {**SMALL, "num_eval": 1000, "factors": ["f2", "f3"]}
    excluded = beta_vae.compute(grid, only_f0, np.random.default_rng(0), **params)["eval_accuracy"]
    assert abs(excluded - 0.5) < 0.06
    assert beta_vae.compute(grid, constant, np.random.default_rng(0), **params)["eval_accuracy"] < 0.56


def test_softmax_by_adagrad_separates_separable_points() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=600)
    x = np.eye(3)[y] + rng.normal(scale=0.1, size=(600, 3))
    layer, epochs = higgins2017.train_softmax(x, y, 3, higgins2017.Params(), seed=1)
    pred = layer(__import__("torch").from_numpy(x.astype(np.float32))).argmax(1).numpy()
    assert np.mean(pred == y) == 1.0 and 1 <= epochs <= higgins2017.Params().max_epochs


def test_classifier_seed_changes_the_initialisation_only_slightly(grid: SyntheticGrid) -> None:
    params = {**SMALL, "factors": ["f1", "f2", "f3"]}
    a = suite.evaluate(grid, identity, np.random.default_rng(0), {"beta_vae": params})
    b = suite.evaluate(grid, identity, np.random.default_rng(0), {"beta_vae": params})
    assert a == b  # the seed fixes sample, initialisation and mini-batch order


def test_settings_are_checked_and_described(grid: SyntheticGrid) -> None:
    described = beta_vae.describe(protocol="higgins2017")
    assert described["classifier"] == "adagrad" and described["lr"] == 0.01 and described["factors"] == []
    assert beta_vae.describe()["protocol"] == "locatello2019"
    assert beta_vae.num_draws(**SMALL) == (200 + 200) * 16 * 2
    with pytest.raises(ConfigError, match="protocol must be one of"):
        beta_vae.describe(protocol="higgins")
    with pytest.raises(ConfigError, match="unknown setting"):
        beta_vae.describe(factors=["f1"])  # a higgins2017 setting under the locatello2019 protocol
    with pytest.raises(ConfigError, match=r"lack"):
        beta_vae.compute(grid, identity, np.random.default_rng(0), **{**SMALL, "factors": ["posX"]})
    with pytest.raises(ConfigError, match="classifier must be one of"):
        beta_vae.describe(protocol="higgins2017", classifier="svm")
