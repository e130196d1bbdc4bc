"""The held-out split of a dataset: which rows training may draw and which it never sees.

Every stored dataset records its test rows (:data:`~betavae.data.storage.layout.SPLIT_FILE`, listed in
the manifest and part of the dataset's digest). Where the data publishes a split (MNIST, EMNIST) its test
file is the test split; elsewhere a seeded fraction of the rows is (``data.datasets.<name>.test_fraction``
and ``split_seed``), the same rows for the same seed on every machine.

Training draws batches from the train rows only. Reconstruction, the ELBO and the pictures that show a
model's inputs (reconstructions, the latent scatter, traversal seeds, snapshots) use the test rows. The
factor metrics still sample the whole factor grid, as the papers do (Higgins et al. 2017, Sec. 3 and
Appendix A.4; Chen et al. 2018, Sec. 4.1): they ask how the representation responds to each factor, and a
grid with rows removed cannot answer for every combination.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from betavae.errors import DataError

__all__ = ["check_test_rows", "held_out", "seeded_test_rows", "train_rows"]


def seeded_test_rows(num_images: int, fraction: float, seed: int) -> np.ndarray:
    """The sorted test rows of a dataset of `num_images` rows: round(fraction * num_images) of them (at
    least one when `fraction` > 0, and at least one row left to train on), drawn without replacement by
    numpy's PCG64 generator seeded with `seed`. `fraction` 0 holds nothing out."""
    if not 0.0 <= fraction < 1.0:
        raise DataError(f"test fraction must lie in [0, 1), got {fraction!r}")
    if fraction == 0.0:
        return np.zeros(0, dtype=np.int64)
    count = max(1, round(fraction * num_images))
    if count >= num_images:
        raise DataError(
            f"a test fraction of {fraction:g} of {num_images} images leaves no image to train on; "
            "lower test_fraction or use a larger dataset"
        )
    rows = np.random.default_rng(seed).choice(num_images, size=count, replace=False)
    return np.sort(rows).astype(np.int64)


def check_test_rows(rows: Any, num_images: int) -> np.ndarray:
    """`rows` as sorted, distinct int64 row numbers inside 0..num_images-1 that leave at least one row to
    train on, or a DataError saying which condition fails."""
    arr = np.asarray(rows)
    if arr.ndim != 1 or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
        raise DataError(f"test rows must be a 1-D array of row numbers, got {arr.dtype} {arr.shape}")
    arr = arr.astype(np.int64, copy=False)
    if arr.size and (arr[0] < 0 or arr[-1] >= num_images):
        raise DataError(f"test rows must lie in 0..{num_images - 1}, got {int(arr.min())}..{int(arr.max())}")
    if arr.size > 1 and not np.all(np.diff(arr) > 0):
        raise DataError("test rows must be sorted and distinct")
    if arr.size >= num_images:
        raise DataError(f"all {num_images} images are test rows: none is left to train on")
    return arr


def train_rows(data: Any) -> np.ndarray | None:
    """The rows training may draw from: a stored dataset's train split, or None (every row) for data that
    records no split (an in-memory image set, a dataset stored with test_fraction 0)."""
    rows = getattr(data, "train_rows", None)
    return None if rows is None else np.asarray(rows, dtype=np.int64)


def held_out(data: Any) -> Any:
    """The images a model is judged on: a stored dataset's test split as a dataset of its own (the same
    pixel format and factor columns), or `data` itself where it records no split."""
    split = getattr(data, "held_out", None)
    return data if split is None else split()
