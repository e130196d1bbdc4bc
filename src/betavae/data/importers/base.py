"""What every importer returns, and the factor-grid checks they share.

An importer reads one dataset in its official file format, validates it, and returns an
:class:`ImportedData`: images in the project's (N, H, W, C) uint8 convention plus the ground-truth
factors as class indices. Writing the on-disk layout is left to ``betavae.data.storage``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from betavae.data.ground_truth import grid_index
from betavae.errors import DataError

__all__ = ["ImportedData", "check_complete_grid", "classes_from_values", "with_test_part"]


@dataclass(frozen=True)
class ImportedData:
    """A dataset read from its source files, ready for ``storage.write_dataset``.

    Attributes:
        images: uint8 array (N, H, W, C); may be a ``np.memmap`` for datasets larger than memory.
        factor_names: one name per ground-truth factor (empty for datasets without factors).
        factor_sizes: number of classes of each factor.
        factor_values: the value of each class, one float64 array of length ``factor_sizes[k]`` each.
        factor_classes: int64 array (N, k) with the class index of each image's factors.
        binary: True when pixels are in {0, 1} (stored bit-packed), False for 0..255.
        complete_grid: True when the images enumerate every factor combination exactly once, in
            row-major order (last factor fastest).
        extra: provenance recorded in the manifest (source file, split, preprocessing, ...).
        test_rows: the rows of the dataset's published test split (sorted), or None where it publishes
            none (the stored split is then a seeded fraction, :mod:`betavae.data.split`).
    """

    images: np.ndarray
    factor_names: tuple[str, ...]
    factor_sizes: tuple[int, ...]
    factor_values: tuple[np.ndarray, ...]
    factor_classes: np.ndarray
    binary: bool
    complete_grid: bool
    extra: Mapping[str, Any] = field(default_factory=dict)
    test_rows: np.ndarray | None = None

    def __post_init__(self) -> None:
        images, classes = self.images, self.factor_classes
        if images.dtype != np.uint8 or images.ndim != 4:
            raise DataError(f"imported images must be uint8 (N, H, W, C), got {images.dtype} {images.shape}")
        k = len(self.factor_names)
        if len(self.factor_sizes) != k or len(self.factor_values) != k:
            raise DataError(
                f"factor names, sizes and values disagree in length: {k}, {len(self.factor_sizes)}, "
                f"{len(self.factor_values)}"
            )
        if classes.dtype != np.int64 or classes.shape != (images.shape[0], k):
            raise DataError(
                f"factor classes must be int64 of shape {(images.shape[0], k)}, got {classes.dtype} {classes.shape}"
            )
        for name, size, values in zip(self.factor_names, self.factor_sizes, self.factor_values, strict=True):
            if len(values) != size:
                raise DataError(f"factor {name!r} has {size} classes but {len(values)} values")

    @property
    def num_images(self) -> int:
        return int(self.images.shape[0])


def with_test_part(train: ImportedData, test: ImportedData) -> ImportedData:
    """One dataset of a published train part followed by its test part, the test part's rows as its test
    split; both parts must share the image format and the factors (names, classes and their values)."""
    same = (
        train.images.shape[1:] == test.images.shape[1:]
        and train.binary == test.binary
        and train.factor_names == test.factor_names
        and train.factor_sizes == test.factor_sizes
        and all(np.array_equal(a, b) for a, b in zip(train.factor_values, test.factor_values, strict=True))
    )
    if not same:
        raise DataError(
            f"the train and test files disagree: images {train.images.shape[1:]} / {test.images.shape[1:]}, "
            f"factors {train.factor_names} {train.factor_sizes} / {test.factor_names} {test.factor_sizes}"
        )
    extra = {k: v for k, v in train.extra.items() if k not in ("split", "source_files")}
    files = [*train.extra.get("source_files", []), *test.extra.get("source_files", [])]
    return ImportedData(
        images=np.concatenate([train.images, test.images]),
        factor_names=train.factor_names,
        factor_sizes=train.factor_sizes,
        factor_values=train.factor_values,
        factor_classes=np.concatenate([train.factor_classes, test.factor_classes]),
        binary=train.binary,
        complete_grid=False,
        extra={**extra, "split": "official", "source_files": files},
        test_rows=np.arange(train.num_images, train.num_images + test.num_images, dtype=np.int64),
    )


def check_complete_grid(classes: np.ndarray, sizes: Sequence[int], what: str) -> None:
    """Check that row i of ``classes`` is the i-th combination of a row-major grid of ``sizes``.

    Raises:
        DataError: naming ``what``, the expected and actual row counts, or the first row out of order.
    """
    expected_rows = int(np.prod(sizes, dtype=np.int64))
    if classes.shape[0] != expected_rows:
        raise DataError(
            f"{what}: {classes.shape[0]} rows do not form the complete factor grid {tuple(sizes)} "
            f"({expected_rows} rows)"
        )
    index = grid_index(classes, sizes)
    wrong = np.flatnonzero(index != np.arange(expected_rows, dtype=np.int64))
    if wrong.size:
        row = int(wrong[0])
        raise DataError(
            f"{what}: rows are not the factor grid {tuple(sizes)} in row-major order "
            f"(row {row} holds classes {classes[row].tolist()}, {wrong.size} rows out of place)"
        )


def classes_from_values(
    values: np.ndarray, names: Sequence[str], what: str, decimals: int = 6
) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Turn per-image factor values (N, k) into class indices (N, k) and the sorted value of each class.

    Values are compared after rounding to ``decimals`` places, so float noise in a file does not
    create spurious classes.
    """
    if values.ndim != 2 or values.shape[1] != len(names):
        raise DataError(f"{what}: expected factor values of shape (N, {len(names)}), got {values.shape}")
    if not np.all(np.isfinite(values)):
        raise DataError(f"{what}: factor values contain NaN or infinity")
    classes = np.empty(values.shape, dtype=np.int64)
    uniques: list[np.ndarray] = []
    for k in range(values.shape[1]):
        _, first, inverse = np.unique(np.round(values[:, k], decimals), return_index=True, return_inverse=True)
        classes[:, k] = inverse.reshape(-1)
        uniques.append(values[first, k].astype(np.float64))  # the file's own value, not the rounded one
    return classes, tuple(uniques)
