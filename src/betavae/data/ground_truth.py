"""The interface every dataset with known generative factors exposes.

A ground-truth dataset is a set of images produced from discrete factors of variation (shape, scale,
position, ...). The disentanglement metrics (Higgins et al. 2017, Sec. 3; Kim & Mnih 2018, Sec. 4;
Chen et al. 2018, Sec. 4.1) need to sample factors and render, or look up, the images they produce.
Factors are handled as *class indices*: factor ``i`` takes values ``0 .. factor_sizes[i] - 1``, and
``factor_values[i][c]`` is the physical value of class ``c`` (e.g. a scale of 0.7).

A *complete grid* holds exactly one image for every combination of factor classes, stored in
row-major order with the last factor varying fastest (the order of dSprites and 3dshapes), so an
image's row is a mixed-radix number whose digits are the classes.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Protocol, cast

import numpy as np

from betavae.errors import DataError

__all__ = [
    "FactorGrid",
    "GroundTruthData",
    "all_grid_classes",
    "checked_classes",
    "condition_labels",
    "grid_classes",
    "grid_index",
    "grid_strides",
]


def checked_classes(
    classes: np.ndarray, names: Sequence[str], sizes: Sequence[int], what: str = "factors"
) -> np.ndarray:
    """`classes` as int64 (n, k) with every entry inside its factor's range, or a DataError naming the
    first bad entry (row, factor, value and the range it must lie in)."""
    arr = np.asarray(classes)
    if arr.ndim != 2 or arr.shape[1] != len(sizes):
        raise DataError(f"{what} must have shape (n, {len(sizes)}) ({', '.join(names)}), got {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise DataError(f"{what} must be integer class indices, got dtype {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    bounds = np.asarray(sizes, dtype=np.int64)
    bad = (arr < 0) | (arr >= bounds)
    if bad.any():
        row, col = (int(v) for v in np.argwhere(bad)[0])
        raise DataError(
            f"factor {names[col]!r} class {int(arr[row, col])} in row {row} is outside 0..{int(bounds[col]) - 1}"
        )
    return arr


def grid_strides(factor_sizes: Sequence[int]) -> np.ndarray:
    """Row strides of a complete grid with the last factor fastest: ``index = classes @ strides``.

    For dSprites' sizes (3, 6, 40, 32, 32) this is (245760, 40960, 1024, 32, 1).
    """
    strides = np.ones(len(factor_sizes), dtype=np.int64)
    for i in range(len(factor_sizes) - 2, -1, -1):
        strides[i] = strides[i + 1] * factor_sizes[i + 1]
    return strides


def grid_index(classes: np.ndarray, factor_sizes: Sequence[int]) -> np.ndarray:
    """Row of each factor combination in a complete grid: int64 (n,) for classes (n, k), unchecked."""
    return np.asarray(classes, dtype=np.int64) @ grid_strides(factor_sizes)


def grid_classes(index: np.ndarray, factor_sizes: Sequence[int]) -> np.ndarray:
    """The factor classes int64 (n, k) of grid rows `index` (n,): the digits of a mixed-radix number."""
    sizes = np.asarray(factor_sizes, dtype=np.int64)
    return (np.asarray(index, dtype=np.int64)[:, None] // grid_strides(factor_sizes)) % sizes


def all_grid_classes(factor_sizes: Sequence[int]) -> np.ndarray:
    """Every row of the grid in order: int64 (prod(sizes), k), the last factor fastest."""
    return grid_classes(np.arange(math.prod(factor_sizes), dtype=np.int64), factor_sizes)


class GroundTruthData(ABC):
    """A dataset whose images are generated from known discrete factors (class indices)."""

    @property
    @abstractmethod
    def factor_names(self) -> tuple[str, ...]:
        """Name of each factor, in column order."""

    @property
    @abstractmethod
    def factor_sizes(self) -> tuple[int, ...]:
        """Number of classes of each factor."""

    @property
    @abstractmethod
    def factor_values(self) -> tuple[np.ndarray, ...]:
        """Physical value of every class of every factor; ``factor_values[i]`` has ``factor_sizes[i]`` entries."""

    @property
    @abstractmethod
    def observation_shape(self) -> tuple[int, int, int]:
        """Shape (H, W, C) of one image."""

    @property
    @abstractmethod
    def max_pixel_value(self) -> int:
        """1 for binary datasets, 255 otherwise; a float image is ``uint8 / max_pixel_value``."""

    @property
    def num_factors(self) -> int:
        """Number of factors of variation."""
        return len(self.factor_names)

    @property
    def is_complete_grid(self) -> bool:
        """True when exactly one image exists for every factor combination."""
        return False

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` factor combinations uniformly; returns int64 class indices of shape (n, k)."""
        n = _check_count(n)
        if self.num_factors == 0:
            raise DataError(f"dataset has no factors of variation; cannot sample factors (n={n})")
        high = np.asarray(self.factor_sizes, dtype=np.int64)
        return rng.integers(0, high, size=(n, self.num_factors), dtype=np.int64)

    @abstractmethod
    def sample_observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Images (n, H, W, C) uint8 for the factor classes ``factors`` (n, k)."""

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` factor combinations and their images: ((n, k) int64, (n, H, W, C) uint8)."""
        factors = self.sample_factors(n, rng)
        return factors, self.sample_observations_from_factors(factors, rng)

    def check_factors(self, factors: np.ndarray) -> np.ndarray:
        """Return ``factors`` as int64 (n, k) or raise DataError naming the bad entry."""
        return checked_classes(factors, self.factor_names, self.factor_sizes)


class FactorGrid(GroundTruthData):
    """A complete factor grid whose images are all held in memory, last factor fastest."""

    @property
    @abstractmethod
    def images(self) -> np.ndarray:
        """Every image, uint8 (N, H, W, C), row ``i`` showing ``index_to_classes(i)``."""

    @property
    def is_complete_grid(self) -> bool:
        return True

    @property
    def num_images(self) -> int:
        """Number of images, the product of the factor sizes."""
        return math.prod(self.factor_sizes)

    def classes_to_index(self, classes: np.ndarray) -> np.ndarray:
        """Row of each factor combination: int64 (n,) for classes (n, k)."""
        return grid_index(self.check_factors(classes), self.factor_sizes)

    def index_to_classes(self, index: np.ndarray) -> np.ndarray:
        """Factor classes (n, k) int64 of each row index (n,)."""
        idx = np.asarray(index)
        if idx.ndim != 1 or (idx.size and not np.issubdtype(idx.dtype, np.integer)):
            raise DataError(f"index must be a 1-D integer array, got shape {idx.shape} dtype {idx.dtype}")
        idx = idx.astype(np.int64, copy=False)
        if idx.size and (idx.min() < 0 or idx.max() >= self.num_images):
            raise DataError(f"index must lie in 0..{self.num_images - 1}, got {idx.min()}..{idx.max()}")
        return grid_classes(idx, self.factor_sizes)

    def sample_observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Look the images up; the grid is deterministic so ``rng`` is unused."""
        return self.images[self.classes_to_index(factors)]


class _LabelledRows(Protocol):
    """What :func:`condition_labels` reads: a stored dataset or a factor grid."""

    @property
    def num_images(self) -> int: ...

    @property
    def factor_names(self) -> tuple[str, ...]: ...

    @property
    def factor_sizes(self) -> tuple[int, ...]: ...

    def index_to_classes(self, index: np.ndarray) -> np.ndarray: ...


def condition_labels(data: object, factor: str) -> tuple[np.ndarray, int]:
    """The class of factor `factor` of every image of `data` int64 (N,), in row order, and the factor's
    number of classes: the labels of a conditional VAE (`model.condition_on`). DataError when `data` has no
    such factor, naming the ones it has."""
    names = tuple(getattr(data, "factor_names", ()))
    if factor not in names:
        raise DataError(
            f"the dataset has no factor {factor!r} to condition on; its factors: {', '.join(names) or 'none'}"
        )
    rows_of = cast(_LabelledRows, data)
    j = names.index(factor)
    classes = rows_of.index_to_classes(np.arange(rows_of.num_images, dtype=np.int64))  # (N, k)
    return np.ascontiguousarray(classes[:, j], dtype=np.int64), int(rows_of.factor_sizes[j])


def _check_count(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise DataError(f"sample size must be a non-negative integer, got {n!r}")
    return int(n)
