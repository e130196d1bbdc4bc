"""Shared maths of the metrics: equal-width discretisation, discrete mutual information and entropy.

Also the checks of the arrays every metric takes, the train/test split and the independent random
streams of one metric. Settings are checked by :mod:`betavae.config.validation`.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import sklearn
from threadpoolctl import ThreadpoolController

from betavae.errors import ConfigError, DataError

__all__ = [
    "check_codes_and_factors",
    "classifier_threads",
    "discretize",
    "entropy",
    "factor_entropies",
    "mutual_information",
    "mutual_information_matrix",
    "split_train_test",
    "sub_rngs",
]


# ---------------------------------------------------------------------------------------------- inputs
def check_codes_and_factors(codes: npt.ArrayLike, factors: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Return codes as float64 (n, d) and factors as int64 (n, k), or raise DataError saying what is wrong."""
    codes = np.asarray(codes)
    factors = np.asarray(factors)
    if codes.ndim != 2 or codes.shape[1] < 1:
        raise DataError(f"codes must be a 2-D array (n, d) with d >= 1, got shape {codes.shape}")
    if factors.ndim != 2 or factors.shape[1] < 1:
        raise DataError(f"factors must be a 2-D array (n, k) with k >= 1, got shape {factors.shape}")
    if codes.shape[0] != factors.shape[0]:
        raise DataError(f"codes have {codes.shape[0]} rows but factors have {factors.shape[0]}")
    if factors.size and not np.issubdtype(factors.dtype, np.integer):
        raise DataError(f"factors must be integer class indices, got dtype {factors.dtype}")
    if not np.issubdtype(codes.dtype, np.number):
        raise DataError(f"codes must be numeric, got dtype {codes.dtype}")
    codes = codes.astype(np.float64, copy=False)
    if not np.isfinite(codes).all():
        bad = np.argwhere(~np.isfinite(codes))[0]
        raise DataError(f"codes must be finite; row {bad[0]} latent {bad[1]} is {codes[bad[0], bad[1]]}")
    return codes, factors.astype(np.int64, copy=False)


def split_train_test(
    codes: np.ndarray, factors: np.ndarray, num_train: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """First `num_train` rows for fitting, the rest (at least one row) for testing."""
    n = codes.shape[0]
    if not 1 <= num_train < n:
        raise DataError(f"num_train must lie in 1..{n - 1} for {n} rows (the rest is the test set), got {num_train}")
    return codes[:num_train], factors[:num_train], codes[num_train:], factors[num_train:]


def sub_rngs(rng: np.random.Generator) -> tuple[np.random.Generator, np.random.Generator, int]:
    """Independent streams for (factor sampling, observation sampling) and an integer classifier seed.

    Keeping observation sampling on its own stream means the factors a metric draws do not depend on
    whether images are looked up, rendered or served from a code cache.
    """
    sample_rng, obs_rng, clf_rng = rng.spawn(3)
    return sample_rng, obs_rng, int(clf_rng.integers(2**31 - 1))


@functools.cache
def _thread_pools() -> ThreadpoolController:
    """The BLAS and OpenMP libraries loaded in this process, found once: looking them up reads the
    process's memory map, which cost about 4 ms per fit when every fit searched afresh."""
    return ThreadpoolController()


@contextlib.contextmanager
def classifier_threads(num_threads: int = 1) -> Iterator[None]:
    """Cap the BLAS and OpenMP threads of the scikit-learn fits inside the block.

    The classifiers here work on small matrices (n x d latents), where extra threads gain little; on a
    shared machine with fewer idle cores than threads, their busy-waiting makes fits many times slower.
    The encoder, outside such blocks, keeps its own thread settings.

    Inside the block scikit-learn also skips re-checking its inputs for NaN and its parameters at every
    nested call: the codes were checked finite where they were made (:func:`check_codes_and_factors`),
    and the estimators' settings where they were parsed, and the checks cost more than the small fits.
    """
    with (
        _thread_pools().limit(limits=num_threads),
        sklearn.config_context(assume_finite=True, skip_parameter_validation=True),
    ):
        yield


# ---------------------------------------------------------------------------------------------- maths
def discretize(codes: np.ndarray, num_bins: int) -> np.ndarray:
    """Equal-width histogram bins per latent: int64 (n, d) with values in 0..num_bins-1.

    Each latent's range [min, max] over the sample is cut into `num_bins` bins of equal width, as
    Chen et al. (2018) do for MIG in the reference study of Locatello et al. (2019). A latent that is
    constant on the sample falls into bin 0. The binning is invariant to a positive affine change of a
    latent (up to float rounding at bin edges).
    """
    codes = np.asarray(codes, dtype=np.float64)
    if codes.ndim != 2:
        raise DataError(f"codes must be a 2-D array (n, d), got shape {codes.shape}")
    if num_bins < 1:
        raise ConfigError(f"num_bins must be >= 1, got {num_bins}")
    lo = codes.min(axis=0)
    width = codes.max(axis=0) - lo
    scaled = np.zeros_like(codes)
    varying = width > 0
    scaled[:, varying] = (codes[:, varying] - lo[varying]) / width[varying] * num_bins
    return np.clip(np.floor(scaled), 0, num_bins - 1).astype(np.int64)


def _labels(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Discrete values -> (labels 0..m-1 of the same shape, m)."""
    uniques, labels = np.unique(values, return_inverse=True)
    return labels.reshape(values.shape), uniques.size


def _mutual_information_of_labels(a: np.ndarray, na: int, b: np.ndarray, nb: int) -> float:
    """Plug-in I(a; b) in nats from the joint histogram of labels a (0..na-1) and b (0..nb-1)."""
    joint = np.bincount(a * nb + b, minlength=na * nb).reshape(na, nb).astype(np.float64)
    n = joint.sum()
    if n == 0:
        return 0.0
    pa, pb = joint.sum(axis=1) / n, joint.sum(axis=0) / n
    i, j = np.nonzero(joint)
    p = joint[i, j] / n
    return max(float((p * (np.log(p) - np.log(pa[i]) - np.log(pb[j]))).sum()), 0.0)


def mutual_information(x: np.ndarray, y: np.ndarray) -> float:
    """Mutual information I(x; y) in nats of two discrete label arrays of equal length.

    Plug-in estimate from the joint histogram, sum_xy p(x, y) log(p(x, y) / (p(x) p(y))), the value of
    sklearn.metrics.mutual_info_score (a test compares them); for x = y = [0, 0, 1, 1] it is log 2.
    """
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim != 1 or y.shape != x.shape:
        raise DataError(f"mutual information needs two 1-D arrays of equal length, got {x.shape} and {y.shape}")
    return _mutual_information_of_labels(*_labels(x), *_labels(y))


def entropy(labels: np.ndarray) -> float:
    """Shannon entropy H(labels) in nats of a discrete label array (its plug-in estimate)."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0:
        raise DataError(f"entropy needs a non-empty 1-D array, got shape {labels.shape}")
    _, counts = np.unique(labels, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


def mutual_information_matrix(discrete_codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """I(code_i; factor_j) for every latent i and factor j: float64 (d, k), in nats."""
    d, k = discrete_codes.shape[1], factors.shape[1]
    codes = [_labels(discrete_codes[:, i]) for i in range(d)]  # each column labelled once
    classes = [_labels(factors[:, j]) for j in range(k)]
    out = np.empty((d, k), dtype=np.float64)
    for i, code in enumerate(codes):
        for j, factor in enumerate(classes):
            out[i, j] = _mutual_information_of_labels(*code, *factor)
    return out


def factor_entropies(factors: np.ndarray) -> np.ndarray:
    """H(factor_j) of every column of `factors` (n, k): float64 (k,), in nats."""
    return np.array([entropy(factors[:, j]) for j in range(factors.shape[1])], dtype=np.float64)
