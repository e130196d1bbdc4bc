"""UDR (Duan et al. 2020) on codes whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from betavae.errors import ConfigError, DataError
from betavae.metrics import udr


def _grid_codes() -> np.ndarray:
    """A full factorial grid of 3 latents (6 x 7 x 8 values): pairwise rank correlations are exactly 0."""
    axes = np.meshgrid(np.arange(6.0), np.arange(7.0), np.arange(8.0), indexing="ij")
    return np.stack([a.ravel() for a in axes], axis=1)  # (336, 3)


ACTIVE = np.array([1.0, 2.0, 0.5])


# Spearman's |rho| is 1 for a latent and its copy; the Lasso weight of a standardised copy is 1 - alpha
# (its penalty shrinks the exact weight 1 by alpha), so UDR_L of identical models is 1 - alpha = 0.9.
CEILING = {"spearman": 1.0, "lasso": 0.9}


@pytest.mark.parametrize("correlation", udr.CORRELATIONS)
def test_identical_seeds_score_one(correlation: str) -> None:
    codes = _grid_codes()
    result = udr.from_codes([codes, codes.copy(), codes.copy()], [ACTIVE] * 3, correlation=correlation)
    assert result.model_scores == pytest.approx((CEILING[correlation],) * 3, abs=1e-9)
    assert result.active == (3, 3, 3)
    normalised = udr.from_codes([codes, codes.copy()], [ACTIVE] * 2, correlation=correlation, normalise=True)
    assert normalised.model_scores == pytest.approx((1.0, 1.0), abs=1e-9)


@pytest.mark.parametrize("correlation", udr.CORRELATIONS)
def test_permuted_and_sign_flipped_copy_scores_one(correlation: str) -> None:
    codes = _grid_codes()
    other = -3.0 * codes[:, [2, 0, 1]] + 5.0  # permuted latents, flipped signs, rescaled and shifted
    result = udr.from_codes([codes, other], [ACTIVE, ACTIVE[[2, 0, 1]]], correlation=correlation)
    assert result.model_scores == pytest.approx((CEILING[correlation],) * 2, abs=1e-9)
    normalised = udr.from_codes([codes, other], [ACTIVE, ACTIVE[[2, 0, 1]]], correlation=correlation, normalise=True)
    assert normalised.model_scores == pytest.approx((1.0, 1.0), abs=1e-9)


@pytest.mark.parametrize(("correlation", "ceiling"), [("spearman", 0.15), ("lasso", 0.05)])
def test_independent_random_codes_score_near_zero(correlation: str, ceiling: float) -> None:
    rng = np.random.default_rng(0)
    codes = [rng.normal(size=(4000, 6)) for _ in range(3)]
    result = udr.from_codes(codes, [np.ones(6)] * 3, correlation=correlation)
    assert max(result.model_scores) < ceiling


def test_entangled_copy_scores_between() -> None:
    codes = _grid_codes()
    rotation = np.array([[1.0, 1.0, 0.0], [1.0, -1.0, 0.0], [0.0, 0.0, 1.0]])  # mixes latents 0 and 1
    result = udr.from_codes([codes, codes @ rotation], [ACTIVE] * 2)
    assert 0.5 < result.model_scores[0] < 0.95


def test_pairwise_score_of_uniform_matrix_is_its_entry_over_d() -> None:
    assert udr.pairwise_score(np.full((4, 4), 1.0)) == pytest.approx(0.25)
    assert udr.pairwise_score(np.full((4, 4), 0.3)) == pytest.approx(0.3 / 4)
    assert udr.pairwise_score(np.eye(5)[[3, 1, 0, 4, 2]]) == pytest.approx(1.0)


def test_inactive_latents_are_filtered_by_kl() -> None:
    rng = np.random.default_rng(1)
    codes = _grid_codes()
    noise = rng.normal(size=(codes.shape[0], 2))
    a = np.hstack([codes, noise])  # two collapsed latents: noise in the mean, KL ~ 0
    b = np.hstack([codes, rng.normal(size=(codes.shape[0], 2))])
    kl = np.array([1.0, 1.0, 1.0, 0.001, 0.0])
    filtered = udr.from_codes([a, b], [kl, kl])
    unfiltered = udr.from_codes([a, b], [kl, kl], kl_threshold=-1.0)
    assert filtered.active == (3, 3) and filtered.model_scores[0] == pytest.approx(1.0)
    assert unfiltered.model_scores[0] < 0.95


def test_bad_input_is_named() -> None:
    codes = _grid_codes()
    with pytest.raises(DataError, match="at least 2 models"):
        udr.from_codes([codes], [ACTIVE])
    with pytest.raises(ConfigError, match="spearman, lasso"):
        udr.from_codes([codes, codes], [ACTIVE, ACTIVE], correlation="pearson")
    with pytest.raises(DataError, match="same n images"):
        udr.from_codes([codes, codes[:10]], [ACTIVE, ACTIVE])
