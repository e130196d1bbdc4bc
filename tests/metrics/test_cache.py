"""The code cache: each grid image is encoded at most once, and cached scores equal uncached ones."""

from __future__ import annotations

import numpy as np
import pytest

from betavae.errors import DataError
from betavae.metrics import beta_vae, mig, suite
from betavae.metrics.cache import GridCodeCache, ObservationEncoder, as_code_source
from tests.helpers.synthetic import (
    CountingRepresentation,
    NotAGrid,
    SyntheticGrid,
    identity,
    mixed,
)

SUITE = {
    "beta_vae": {"batch_size": 16, "num_train": 200, "num_eval": 100},
    "factor_vae": {"batch_size": 16, "num_train": 200, "num_eval": 100, "num_variance_estimate": 500},
    "mig": {"num_train": 500},
    "dci": {"num_train": 300, "num_test": 100, "estimator": "hist_gbt", "n_estimators": 10},
    "sap": {"num_train": 300, "num_test": 100},
    "modularity": {"num_train": 300, "num_test": 100},
}


def test_suite_encodes_every_grid_image_at_most_once(grid: SyntheticGrid) -> None:
    counting = CountingRepresentation(mixed)
    assert suite.planned_draws(SUITE) > grid.num_images  # the suite alone draws more than the grid holds
    suite.evaluate(grid, counting, np.random.default_rng(0), SUITE)
    assert max(counting.seen.values()) == 1
    assert sum(counting.seen.values()) == grid.num_images  # filled up front, in one pass
    assert counting.calls == 1  # one batch: 576 images < the default batch of 8192


def test_lazy_cache_encodes_only_the_distinct_images_drawn(grid: SyntheticGrid) -> None:
    counting = CountingRepresentation(identity)
    cache = GridCodeCache(grid, counting, batch_size=50)
    rng = np.random.default_rng(1)
    drawn = [grid.sample_factors(200, rng) for _ in range(3)]
    for factors in drawn:
        np.testing.assert_array_equal(cache.codes(factors, rng), factors.astype(float))
    distinct = np.unique(np.concatenate([grid.classes_to_index(f) for f in drawn]))
    assert cache.num_encoded == distinct.size == cache.num_cached
    assert max(counting.seen.values()) == 1 and len(counting.seen) == distinct.size
    cache.encode_all()  # only the rest is encoded
    assert cache.num_encoded == grid.num_images and max(counting.seen.values()) == 1


def test_small_suite_stays_lazy(grid: SyntheticGrid) -> None:
    counting = CountingRepresentation(identity)
    small = {"mig": {"num_train": 100}}
    suite.evaluate(grid, counting, np.random.default_rng(0), small)
    assert 0 < sum(counting.seen.values()) <= 100 and max(counting.seen.values()) == 1


def test_cached_and_uncached_scores_agree(grid: SyntheticGrid) -> None:
    plain = NotAGrid(grid.factor_sizes)  # same data, no grid: every draw is encoded afresh
    cached = suite.evaluate(grid, mixed, np.random.default_rng(5), SUITE)
    uncached = suite.evaluate(plain, mixed, np.random.default_rng(5), SUITE)
    assert cached == uncached


def test_uncached_encoder_counts_every_draw(grid: SyntheticGrid) -> None:
    plain = NotAGrid(grid.factor_sizes)
    counting = CountingRepresentation(identity)
    mig.compute(plain, counting, np.random.default_rng(0), num_train=700)
    assert sum(counting.seen.values()) == 700  # 700 draws from 576 images: repeats are encoded again
    assert max(counting.seen.values()) > 1


def test_memo_larger_than_limit_falls_back_to_direct_encoding(grid: SyntheticGrid) -> None:
    counting = CountingRepresentation(identity)
    cache = GridCodeCache(grid, counting, max_bytes=100)  # 576 x 6 float64 codes need 27,648 bytes
    factors = grid.sample_factors(50, np.random.default_rng(0))
    np.testing.assert_array_equal(cache.codes(factors), factors.astype(float))
    np.testing.assert_array_equal(cache.codes(factors), factors.astype(float))
    assert not cache.memoising and cache.num_cached == 0
    distinct = np.unique(grid.classes_to_index(factors)).size
    assert distinct < 50  # the sample repeats some images
    # The first request encodes its distinct images before finding the memo too large; later ones encode all.
    assert cache.num_encoded == distinct + 50


def test_code_sources_pass_through_and_reject_bad_representations(grid: SyntheticGrid) -> None:
    cache = GridCodeCache(grid, identity)
    assert as_code_source(grid, cache) is cache
    assert suite.code_source(grid, cache, SUITE) is cache
    assert isinstance(as_code_source(grid, identity), ObservationEncoder)
    with pytest.raises(DataError, match="complete factor grid"):
        GridCodeCache(NotAGrid((2, 2)), identity)
    with pytest.raises(DataError, match="codes of shape"):
        beta_vae.compute(grid, lambda x: np.zeros(len(x)), np.random.default_rng(0), num_train=2, num_eval=2)
    with pytest.raises(DataError, match="non-finite"):
        mig.compute(grid, lambda x: np.full((len(x), 2), np.nan), np.random.default_rng(0), num_train=10)
