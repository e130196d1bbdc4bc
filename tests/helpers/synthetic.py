"""Synthetic ground truth with known answers for the metric tests.

`SyntheticGrid` is a complete factor grid (the GroundTruthData interface, duck-typed) whose "image"
of a factor combination is the combination itself: uint8 of shape (1, 1, k). The identity
representation therefore recovers every factor exactly in its own latent, a constant one recovers
nothing, and permuted, scaled or duplicated copies have answers that follow from the definitions.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np


class SyntheticGrid:
    """Every combination of `factor_sizes` exactly once, last factor fastest; image = the classes."""

    def __init__(self, factor_sizes: tuple[int, ...]) -> None:
        self.factor_sizes = tuple(int(s) for s in factor_sizes)
        self.factor_names = tuple(f"f{i}" for i in range(len(self.factor_sizes)))
        self.factor_values = tuple(np.arange(s, dtype=np.float64) for s in self.factor_sizes)
        self.num_factors = len(self.factor_sizes)
        self.observation_shape = (1, 1, self.num_factors)
        self.max_pixel_value = 255
        self.is_complete_grid = True
        self.num_images = math.prod(self.factor_sizes)
        self._strides = np.array(
            [math.prod(self.factor_sizes[i + 1 :]) for i in range(self.num_factors)], dtype=np.int64
        )
        self.images = (
            self.index_to_classes(np.arange(self.num_images))
            .astype(np.uint8)
            .reshape(self.num_images, 1, 1, self.num_factors)
        )

    def classes_to_index(self, classes: np.ndarray) -> np.ndarray:
        return np.asarray(classes, dtype=np.int64) @ self._strides

    def index_to_classes(self, index: np.ndarray) -> np.ndarray:
        index = np.asarray(index, dtype=np.int64)
        return (index[:, None] // self._strides) % np.asarray(self.factor_sizes)

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.integers(0, self.factor_sizes, size=(n, self.num_factors), dtype=np.int64)

    def sample_observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.images[self.classes_to_index(factors)]

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        factors = self.sample_factors(n, rng)
        return factors, self.sample_observations_from_factors(factors, rng)


class NotAGrid(SyntheticGrid):
    """The same data presented as an ordinary (non-grid) ground-truth dataset."""

    def __init__(self, factor_sizes: tuple[int, ...]) -> None:
        super().__init__(factor_sizes)
        self.is_complete_grid = False


def identity(images: np.ndarray) -> np.ndarray:
    """Codes = the factor classes: a perfectly disentangled representation."""
    return images.reshape(images.shape[0], -1).astype(np.float64)


def constant(images: np.ndarray) -> np.ndarray:
    """Codes that ignore the input: nothing is encoded."""
    return np.zeros((images.shape[0], 4))


class CountingRepresentation:
    """Wraps a representation and counts how often each distinct image was passed to it."""

    def __init__(self, inner=identity) -> None:
        self.inner = inner
        self.seen: Counter[bytes] = Counter()
        self.calls = 0

    def __call__(self, images: np.ndarray) -> np.ndarray:
        self.calls += 1
        for image in images:
            self.seen[image.tobytes()] += 1
        return self.inner(images)


def mixed(images: np.ndarray) -> np.ndarray:
    """A partly entangled code: some latents mix two factors, one is a non-linear nuisance.

    Every latent also carries a small deterministic jitter that differs between images, so no latent is
    exactly constant over a batch by chance: argmin / argmax ties, which a permutation of the latents
    would break differently, do not occur.
    """
    f = identity(images)  # (n, 6)
    h = f @ np.array([1.0, 7.0, 31.0, 127.0, 511.0, 2047.0])
    z = np.stack(
        [
            f[:, 0] + 0.5 * f[:, 1],
            f[:, 1],
            f[:, 2] + 0.3 * f[:, 3],
            f[:, 3],
            f[:, 4],
            f[:, 5],
            np.sin(1.7 * f[:, 0] * f[:, 2] + f[:, 5]),
        ],
        axis=1,
    )
    return z + 0.05 * np.sin(0.731 * np.outer(h + 1.0, np.arange(1.0, 8.0)))


PERMUTATION = np.array([4, 2, 6, 0, 5, 1, 3])
SCALES = np.array([2.0, 0.5, 3.0, 1.5, 7.0, 0.8, 1.25])


def permuted_scaled(images: np.ndarray) -> np.ndarray:
    """`mixed` with its latents permuted and each multiplied by a positive constant."""
    return mixed(images)[:, PERMUTATION] * SCALES


def permuted(images: np.ndarray) -> np.ndarray:
    """`mixed` with its latents permuted."""
    return mixed(images)[:, PERMUTATION]


def duplicated(images: np.ndarray) -> np.ndarray:
    """Every latent of the identity code twice."""
    f = identity(images)
    return np.concatenate([f, f], axis=1)
