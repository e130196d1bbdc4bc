"""Load a stored dataset directory back as ground-truth data (:class:`StoredDataset`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from betavae.data._zstd_npy import load_array
from betavae.data.ground_truth import GroundTruthData, grid_index
from betavae.data.split import check_test_rows
from betavae.data.storage.layout import (
    FACTORS_FILE,
    IMAGES_FILE,
    dataset_digest,
    read_manifest,
    strictly_increasing,
    unpack_rows,
    verify_files,
)
from betavae.errors import DataError


def read_images(dataset_dir: Path | str, manifest: Mapping[str, Any], *, unpack: bool = True) -> np.ndarray:
    """The stored images: uint8 (N, H, W, C), or the packed rows (N, B) when ``unpack`` is False."""
    path = Path(dataset_dir) / manifest.get("images_file", IMAGES_FILE)
    stored = load_array(path)
    shape = tuple(int(s) for s in manifest["observation_shape"])
    n = int(manifest["num_images"])
    if manifest["packed"]:
        want = (n, math.ceil(math.prod(shape) / 8))
        if stored.dtype != np.uint8 or stored.shape != want:
            raise DataError(f"{path}: expected packed uint8 {want}, found {stored.dtype} {stored.shape}")
        return unpack_rows(stored, shape) if unpack else stored
    if stored.dtype != np.uint8 or stored.shape[1:] != shape:
        raise DataError(f"{path}: expected uint8 (N, {shape}), found {stored.dtype} {stored.shape}")
    return stored


def read_factor_table(dataset_dir: Path | str, manifest: Mapping[str, Any]) -> pa.Table | None:
    """The factor table as stored (no type or range checks), or None for a dataset without factors."""
    if not manifest["factor_names"]:
        return None
    path = Path(dataset_dir) / FACTORS_FILE
    try:
        return pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise DataError(f"{path}: cannot read the factor table ({exc})") from exc


def load_dataset(dataset_dir: Path | str, *, verify: bool = True) -> StoredDataset:
    """Load a dataset directory; checks every file's sha256 against the manifest unless ``verify`` is False."""
    dataset_dir = Path(dataset_dir)
    manifest = read_manifest(dataset_dir)
    if verify:
        verify_files(dataset_dir, manifest)
    images = read_images(dataset_dir, manifest)
    if images.shape[0] != int(manifest["num_images"]):
        raise DataError(f"{dataset_dir}: {images.shape[0]} images, manifest says {manifest['num_images']}")
    names = tuple(manifest["factor_names"])
    classes = np.zeros((images.shape[0], 0), dtype=np.int64)
    table = read_factor_table(dataset_dir, manifest)
    if table is not None:
        if tuple(table.column_names) != names:
            raise DataError(f"{dataset_dir / FACTORS_FILE}: columns {table.column_names}, manifest says {list(names)}")
        cols = []
        for n in names:
            col = table.column(n)
            if col.null_count or not pa.types.is_integer(col.type):
                raise DataError(
                    f"{dataset_dir / FACTORS_FILE}: factor {n!r} must be a null-free integer column, "
                    f"got {col.type} with {col.null_count} nulls"
                )
            cols.append(col.to_numpy().astype(np.int64, copy=False))
        classes = np.stack(cols, axis=1)
    return StoredDataset(
        dataset_dir, manifest, images, classes, dataset_digest(manifest), read_test_rows(dataset_dir, manifest)
    )


def read_test_rows(dataset_dir: Path | str, manifest: Mapping[str, Any]) -> np.ndarray | None:
    """The stored test rows of a dataset that holds images out, else None."""
    split = manifest.get("split")
    if not split:
        return None
    path = Path(dataset_dir) / str(split.get("file", ""))
    if split.get("file") not in manifest["files"] or not path.is_file():
        raise DataError(f"{Path(dataset_dir)}: the manifest's split names {split.get('file')!r}, which is not there")
    rows = check_test_rows(load_array(path), int(manifest["num_images"]))
    if rows.size != int(split.get("num_test", -1)):
        raise DataError(f"{path}: {rows.size} test rows, the manifest says {split.get('num_test')}")
    return rows


class StoredDataset(GroundTruthData):
    """A dataset read back from disk; a complete grid when every factor combination occurs exactly once.

    `test_rows`: the held-out rows (:mod:`betavae.data.split`), None when the dataset holds none out;
    `train_rows` are the others, :meth:`held_out` the test rows as a dataset of their own."""

    def __init__(
        self,
        path: Path,
        manifest: Mapping[str, Any],
        images: np.ndarray,
        factor_classes: np.ndarray,
        digest: str,
        test_rows: np.ndarray | None = None,
    ) -> None:
        self.path = Path(path)
        self.manifest = dict(manifest)
        self.images = images
        self.digest = digest
        self.test_rows = None if test_rows is None or not len(test_rows) else check_test_rows(test_rows, len(images))
        self.train_rows = (
            None
            if self.test_rows is None
            else np.setdiff1d(np.arange(len(images), dtype=np.int64), self.test_rows, assume_unique=True)
        )
        self._held_out: StoredDataset | None = None
        names = tuple(manifest["factor_names"])
        sizes = tuple(int(s) for s in manifest.get("factor_sizes", []))
        self._names = names
        self._sizes = sizes
        self._values = tuple(np.asarray(v) for v in manifest.get("factor_values", []))
        if len(sizes) != len(names) or len(self._values) != len(names):
            raise DataError(f"{path}: manifest factor_names, factor_sizes and factor_values differ in length")
        self.factor_classes = self.check_factors(factor_classes) if names else factor_classes
        codes = grid_index(self.factor_classes, sizes) if names else np.zeros(0, dtype=np.int64)
        if strictly_increasing(codes):  # stored in grid order already (the usual case): no sort needed
            self._order = np.arange(len(codes), dtype=np.int64)
            self._sorted_codes = codes
        else:
            self._order = np.argsort(codes, kind="stable")
            self._sorted_codes = codes[self._order]
        self._complete = bool(names) and len(codes) == math.prod(sizes) and strictly_increasing(self._sorted_codes)

    @property
    def name(self) -> str:
        return str(self.manifest["name"])

    def held_out(self) -> StoredDataset:
        """The test rows as a dataset (their images and factor classes, in row order; not a complete grid),
        or this dataset where it holds nothing out. Built once and kept."""
        if self.test_rows is None:
            return self
        if self._held_out is None:
            rows = self.test_rows
            manifest = {**self.manifest, "num_images": int(rows.size), "part": "test"}
            self._held_out = StoredDataset(
                self.path, manifest, self.images[rows], self.factor_classes[rows], self.digest
            )
        return self._held_out

    @property
    def binary(self) -> bool:
        return bool(self.manifest["binary"])

    @property
    def has_factors(self) -> bool:
        return bool(self._names)

    @property
    def factor_names(self) -> tuple[str, ...]:
        return self._names

    @property
    def factor_sizes(self) -> tuple[int, ...]:
        return self._sizes

    @property
    def factor_values(self) -> tuple[np.ndarray, ...]:
        return self._values

    @property
    def observation_shape(self) -> tuple[int, int, int]:
        h, w, c = (int(s) for s in self.manifest["observation_shape"])
        return (h, w, c)

    @property
    def max_pixel_value(self) -> int:
        return 1 if self.binary else 255

    @property
    def num_images(self) -> int:
        return int(self.images.shape[0])

    @property
    def is_complete_grid(self) -> bool:
        return self._complete

    def classes_to_index(self, classes: np.ndarray) -> np.ndarray:
        """Row of each factor combination (complete grids only): int64 (n,) for classes (n, k)."""
        if not self._complete:
            raise DataError(f"dataset {self.name!r} is not a complete factor grid; combinations do not map to rows")
        codes = grid_index(self.check_factors(classes), self._sizes)
        return self._order[codes]

    def index_to_classes(self, index: np.ndarray) -> np.ndarray:
        """Factor classes (n, k) of each row index (n,)."""
        return self.factor_classes[np.asarray(index, dtype=np.int64)]

    def sample_observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Images with the given factor classes; where several images share a combination, one is drawn with ``rng``."""
        if not self.has_factors:
            raise DataError(f"dataset {self.name!r} has no factors of variation")
        codes = grid_index(self.check_factors(factors), self._sizes)
        lo = np.searchsorted(self._sorted_codes, codes, side="left")
        hi = np.searchsorted(self._sorted_codes, codes, side="right")
        empty = lo == hi
        if empty.any():
            row = int(np.argmax(empty))
            raise DataError(f"dataset {self.name!r} has no image with factor classes {factors[row].tolist()}")
        pick = lo if self._complete else rng.integers(lo, hi)
        return self.images[self._order[pick]]
