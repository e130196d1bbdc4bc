"""Every metric on synthetic codes whose answers are known: identity, constant, duplicated, permuted."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from betavae.metrics import beta_vae, factor_vae, mig, modularity, sap, suite
from tests.helpers.synthetic import (
    SyntheticGrid,
    constant,
    duplicated,
    identity,
    mixed,
    permuted,
    permuted_scaled,
)

SMALL = {
    "beta_vae": {"batch_size": 32, "num_train": 300, "num_eval": 300},
    "factor_vae": {"batch_size": 32, "num_train": 300, "num_eval": 300, "num_variance_estimate": 1000},
    "mig": {"num_train": 2000},
    "dci": {"num_train": 600, "num_test": 300, "estimator": "hist_gbt", "n_estimators": 20},
    "sap": {"num_train": 600, "num_test": 300, "continuous_factors": True},
    "modularity": {"num_train": 600, "num_test": 300},
}

# For the invariance checks: tiny BetaVAE / FactorVAE batches, so the mixed code scores well below 1.
INVARIANCE = {
    **SMALL,
    "beta_vae": {**SMALL["beta_vae"], "batch_size": 3},
    "factor_vae": {**SMALL["factor_vae"], "batch_size": 3},
}

# The disentanglement score of each metric (explicitness and informativeness measure something else).
DISENTANGLEMENT_KEYS = (
    "beta_vae.eval_accuracy",
    "factor_vae.eval_accuracy",
    "mig.score",
    "dci.disentanglement",
    "dci.completeness",
    "sap.score",
    "modularity.modularity",
)


@pytest.fixture(scope="module")
def scores() -> dict[str, dict[str, float]]:
    data = SyntheticGrid((2, 3, 4, 3, 2, 4))
    reps: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "identity": identity,
        "constant": constant,
        "mixed": mixed,
        "duplicated": duplicated,
    }
    out = {name: suite.evaluate(data, rep, np.random.default_rng(7), SMALL) for name, rep in reps.items()}
    for name, rep in {"mixed": mixed, "permuted": permuted, "permuted_scaled": permuted_scaled}.items():
        out[f"{name}/invariance"] = suite.evaluate(data, rep, np.random.default_rng(7), INVARIANCE)
    return out


@pytest.mark.parametrize("key", DISENTANGLEMENT_KEYS)
def test_identity_scores_high(scores: dict[str, dict[str, float]], key: str) -> None:
    assert scores["identity"][key] >= 0.9


@pytest.mark.parametrize("key", DISENTANGLEMENT_KEYS)
def test_constant_scores_low(scores: dict[str, dict[str, float]], key: str) -> None:
    assert scores["constant"][key] <= 0.2


def test_constant_code_has_known_values(scores: dict[str, dict[str, float]]) -> None:
    s = scores["constant"]
    assert s["factor_vae.num_active_dims"] == 0.0 and s["factor_vae.eval_accuracy"] == 0.0
    assert s["mig.score"] == 0.0 and s["sap.score"] == 0.0 and s["modularity.modularity"] == 0.0
    assert s["modularity.explicitness_test"] == 0.5  # constant probabilities rank nothing: AUC 0.5


def test_identity_code_has_known_values(scores: dict[str, dict[str, float]]) -> None:
    s = scores["identity"]
    assert s["factor_vae.num_active_dims"] == 6.0
    assert s["beta_vae.eval_accuracy"] == 1.0 and s["factor_vae.eval_accuracy"] == 1.0
    assert s["dci.informativeness_test"] == 1.0


def test_duplicated_latents_have_no_mutual_information_gap(scores: dict[str, dict[str, float]]) -> None:
    assert scores["identity"]["mig.score"] >= 0.95
    assert scores["duplicated"]["mig.score"] == pytest.approx(0.0, abs=1e-12)
    assert scores["duplicated"]["sap.score"] == pytest.approx(0.0, abs=1e-12)


def test_mixed_code_scores_between_extremes(scores: dict[str, dict[str, float]]) -> None:
    for key in ("mig.score", "modularity.modularity", "dci.disentanglement"):
        assert scores["constant"][key] < scores["mixed"][key] < scores["identity"][key], key


@pytest.mark.parametrize(
    "key",
    [
        "mig.score",
        "factor_vae.eval_accuracy",
        "factor_vae.train_accuracy",
        "modularity.modularity",
        "modularity.explicitness_test",
        "dci.disentanglement",
        "dci.completeness",
        "dci.informativeness_test",
    ],
)
def test_invariant_to_permutation_and_positive_scaling(scores: dict[str, dict[str, float]], key: str) -> None:
    assert scores["permuted_scaled/invariance"][key] == pytest.approx(scores["mixed/invariance"][key], abs=1e-6)


@pytest.mark.parametrize("key", ["sap.score", "beta_vae.eval_accuracy", "beta_vae.train_accuracy"])
def test_invariant_to_permutation(scores: dict[str, dict[str, float]], key: str) -> None:
    assert scores["permuted/invariance"][key] == pytest.approx(scores["mixed/invariance"][key], abs=1e-6)


def test_mixed_code_is_not_trivially_perfect(scores: dict[str, dict[str, float]]) -> None:
    # Guards the invariance tests: they compare scores that are not pinned at 0 or 1.
    s = scores["mixed/invariance"]
    for key in (
        "mig.score",
        "sap.score",
        "beta_vae.eval_accuracy",
        "factor_vae.eval_accuracy",
        "dci.disentanglement",
        "modularity.modularity",
    ):
        assert 0.2 < s[key] < 0.99, key


def test_discrete_sap_on_binary_factors_has_the_known_gap(binary_grid: SyntheticGrid) -> None:
    # Each binary factor is read perfectly from its own latent; any other latent is independent of it,
    # so the runner-up guesses at chance (~0.5): SAP is about 1 - 0.5 = 0.5, not 1 (see sap.py).
    factors = binary_grid.sample_factors(3000, np.random.default_rng(0))
    codes = factors.astype(float)
    matrix = sap.score_matrix(codes[:2000], factors[:2000], codes[2000:], factors[2000:])
    np.testing.assert_array_equal(np.diag(matrix), np.ones(5))
    off = matrix[~np.eye(5, dtype=bool)]
    assert np.all(np.abs(off - 0.5) < 0.06)
    score = sap.from_codes(codes, factors, num_train=2000)["score"]
    assert 0.44 <= score <= 0.56


@pytest.mark.parametrize("module", [beta_vae, factor_vae, mig, modularity, sap])
def test_same_seed_same_scores(grid: SyntheticGrid, module) -> None:
    params = {k: v for k, v in SMALL[module.NAME].items()}
    first = module.compute(grid, mixed, np.random.default_rng(11), **params)
    second = module.compute(grid, mixed, np.random.default_rng(11), **params)
    assert first == second
