"""The on-disk layout shared by every dataset, and the loader that turns it back into ground-truth data.

A dataset directory holds:

- ``images.npy.zst``: the images as a zstd-compressed ``.npy`` stream (see ``_zstd_npy``). Binary
  datasets store their rows bit-packed with ``np.packbits`` (shape (N, ceil(H*W*C / 8))), others
  store uint8 (N, H, W, C). The manifest's ``images_file`` names the file, so readers never guess.
- ``factors.parquet``: one int64 column per factor holding the class index, named by the factor
  (absent when a dataset has no factors).
- ``manifest.json``: name, kind, source, shapes, factor names/sizes/values, the per-image foreground
  fraction range, whether the factors form a complete grid, and the sha256 and size of every file.

Directories are written atomically: everything goes to a temporary sibling directory that is renamed
into place only once complete, so a crash never leaves a half-written dataset behind.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from betavae.data._zstd_npy import load_array, save_array, sha256_file
from betavae.data.ground_truth import GroundTruthData, grid_strides
from betavae.errors import DataError

__all__ = [
    "FACTORS_FILE",
    "FORMAT_VERSION",
    "IMAGES_FILE",
    "MANIFEST_FILE",
    "PackedImages",
    "StoredDataset",
    "foreground_fractions",
    "load_dataset",
    "read_factor_table",
    "read_images",
    "read_manifest",
    "verify_files",
    "write_dataset",
]

FORMAT_VERSION = 1
IMAGES_FILE = "images.npy.zst"
FACTORS_FILE = "factors.parquet"
MANIFEST_FILE = "manifest.json"
_ROW_CHUNK = 65536


@dataclass(frozen=True)
class PackedImages:
    """Binary images already bit-packed row by row: ``bits`` is uint8 (N, ceil(H*W*C / 8)).

    Lets a generator hand over a large binary dataset (dSprites: 377 MB packed, 3 GB unpacked)
    without ever materialising the unpacked array.
    """

    bits: np.ndarray
    shape: tuple[int, int, int]

    def __post_init__(self) -> None:
        if len(self.shape) != 3 or any(int(s) < 1 for s in self.shape):
            raise DataError(f"PackedImages.shape must be (H, W, C) with positive sizes, got {self.shape}")
        want = math.ceil(math.prod(self.shape) / 8)
        if self.bits.dtype != np.uint8 or self.bits.ndim != 2 or self.bits.shape[1] != want:
            raise DataError(
                f"PackedImages.bits must be uint8 (N, {want}) for shape {self.shape}, "
                f"got {self.bits.dtype} {self.bits.shape}"
            )

    def __len__(self) -> int:
        return int(self.bits.shape[0])

    def unpack(self) -> np.ndarray:
        """Unpacked uint8 images (N, H, W, C) in {0, 1}."""
        return _unpack_rows(self.bits, self.shape)


def write_dataset(
    out_dir: Path | str,
    *,
    name: str,
    kind: str,
    images: np.ndarray | PackedImages,
    factor_names: Sequence[str],
    factor_sizes: Sequence[int],
    factor_values: Sequence[Sequence[float] | np.ndarray],
    factor_classes: np.ndarray | None,
    binary: bool,
    source: str,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write a dataset directory atomically and return its path.

    Args:
        out_dir: the dataset directory to create (replaced whole if it exists).
        name, kind, source: recorded in the manifest (e.g. "dsprites", "dsprites", "procedural").
        images: uint8 (N, H, W, C), or :class:`PackedImages` for a binary dataset packed in advance.
        factor_names, factor_sizes, factor_values: one entry per factor; may all be empty.
        factor_classes: int (N, k) class indices, or None when there are no factors.
        binary: True when every pixel is 0 or 1; the images are then stored bit-packed.
        extra: JSON-serialisable facts merged into the manifest under "extra".
    """
    out_dir = Path(out_dir)
    names, sizes, values = _check_factor_spec(factor_names, factor_sizes, factor_values)
    if not isinstance(name, str) or not name:
        raise DataError(f"dataset name must be a non-empty string, got {name!r}")
    packed, shape, num_images = _check_images(images, binary)
    classes = _check_classes(factor_classes, num_images, names, sizes)
    fractions = foreground_fractions(packed if binary else images, shape, binary)

    complete = bool(names) and num_images == math.prod(sizes) and _all_unique(classes, sizes)
    manifest: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "name": name,
        "kind": kind,
        "source": source,
        "num_images": num_images,
        "observation_shape": list(shape),
        "binary": bool(binary),
        "packed": bool(binary),
        "max_pixel_value": 1 if binary else 255,
        "images_file": IMAGES_FILE,
        "factor_names": list(names),
        "factor_sizes": list(sizes),
        "factor_values": [v.tolist() for v in values],
        "complete_grid": complete,
        "foreground_range": [float(fractions.min()), float(fractions.max())] if num_images else [0.0, 0.0],
        "extra": dict(extra or {}),
        "files": {},
    }
    try:
        json.dumps(manifest)
    except TypeError as exc:
        raise DataError(f"manifest extra must be JSON-serialisable: {exc}") from exc

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        payload = packed.bits if binary else np.asarray(images)
        # Packed bits are small and compress ~170x at a high level in about a second; full-colour
        # images are large and little compressible, so a fast level keeps writes near disk speed.
        level = 9 if binary else 1
        manifest["images_compression"] = {"codec": "zstd", "level": level}
        digest = save_array(tmp / IMAGES_FILE, payload, level=level)
        manifest["files"][IMAGES_FILE] = {"sha256": digest, "bytes": (tmp / IMAGES_FILE).stat().st_size}
        if names:
            table = pa.table({n: pa.array(classes[:, i], type=pa.int64()) for i, n in enumerate(names)})
            pq.write_table(table, tmp / FACTORS_FILE, compression="zstd")
            manifest["files"][FACTORS_FILE] = {
                "sha256": sha256_file(tmp / FACTORS_FILE),
                "bytes": (tmp / FACTORS_FILE).stat().st_size,
            }
        (tmp / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        _replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def _replace_dir(tmp: Path, out_dir: Path) -> None:
    """Move ``tmp`` to ``out_dir``; an existing ``out_dir`` is swapped out first, then deleted."""
    old = None
    if out_dir.exists():
        old = out_dir.parent / f".{out_dir.name}.old-{uuid.uuid4().hex}"
        os.replace(out_dir, old)
    try:
        os.replace(tmp, out_dir)
    except BaseException:
        if old is not None:
            os.replace(old, out_dir)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def read_manifest(dataset_dir: Path | str) -> dict[str, Any]:
    """The parsed ``manifest.json`` of a dataset directory."""
    path = Path(dataset_dir) / MANIFEST_FILE
    if not path.is_file():
        raise DataError(f"{path}: no manifest; is {Path(dataset_dir)} a dataset directory?")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: manifest is not valid JSON ({exc})") from exc
    missing = {"name", "num_images", "observation_shape", "binary", "packed", "factor_names", "files"} - set(manifest)
    if missing:
        raise DataError(f"{path}: manifest lacks keys {sorted(missing)}")
    return manifest


def verify_files(dataset_dir: Path | str, manifest: Mapping[str, Any]) -> None:
    """Raise DataError unless every file listed in the manifest exists with its recorded sha256."""
    for fname, meta in manifest["files"].items():
        path = Path(dataset_dir) / fname
        if not path.is_file():
            raise DataError(f"{path}: listed in the manifest but missing")
        actual = sha256_file(path)
        if actual != meta["sha256"]:
            raise DataError(
                f"{path}: sha256 {actual} does not match the manifest's {meta['sha256']}; "
                "the file was modified or corrupted after it was written"
            )


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
        return _unpack_rows(stored, shape) if unpack else stored
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
    digest = manifest["files"].get(manifest.get("images_file", IMAGES_FILE), {}).get("sha256", "")
    return StoredDataset(dataset_dir, manifest, images, classes, digest)


class StoredDataset(GroundTruthData):
    """A dataset read back from disk; a complete grid when every factor combination occurs exactly once."""

    def __init__(
        self, path: Path, manifest: Mapping[str, Any], images: np.ndarray, factor_classes: np.ndarray, digest: str
    ) -> None:
        self.path = Path(path)
        self.manifest = dict(manifest)
        self.images = images
        self.digest = digest
        names = tuple(manifest["factor_names"])
        sizes = tuple(int(s) for s in manifest.get("factor_sizes", []))
        self._names = names
        self._sizes = sizes
        self._values = tuple(np.asarray(v) for v in manifest.get("factor_values", []))
        if len(sizes) != len(names) or len(self._values) != len(names):
            raise DataError(f"{path}: manifest factor_names, factor_sizes and factor_values differ in length")
        self.factor_classes = self.check_factors(factor_classes) if names else factor_classes
        codes = self.factor_classes @ grid_strides(sizes) if names else np.zeros(0, dtype=np.int64)
        if _sorted_unique(codes):  # stored in grid order already (the usual case): no sort needed
            self._order = np.arange(len(codes), dtype=np.int64)
            self._sorted_codes = codes
        else:
            self._order = np.argsort(codes, kind="stable")
            self._sorted_codes = codes[self._order]
        self._complete = bool(names) and len(codes) == math.prod(sizes) and _sorted_unique(self._sorted_codes)

    @property
    def name(self) -> str:
        return str(self.manifest["name"])

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
        codes = self.check_factors(classes) @ grid_strides(self._sizes)
        return self._order[codes]

    def index_to_classes(self, index: np.ndarray) -> np.ndarray:
        """Factor classes (n, k) of each row index (n,)."""
        return self.factor_classes[np.asarray(index, dtype=np.int64)]

    def sample_observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Images with the given factor classes; where several images share a combination, one is drawn with ``rng``."""
        if not self.has_factors:
            raise DataError(f"dataset {self.name!r} has no factors of variation")
        codes = self.check_factors(factors) @ grid_strides(self._sizes)
        lo = np.searchsorted(self._sorted_codes, codes, side="left")
        hi = np.searchsorted(self._sorted_codes, codes, side="right")
        empty = lo == hi
        if empty.any():
            row = int(np.argmax(empty))
            raise DataError(f"dataset {self.name!r} has no image with factor classes {factors[row].tolist()}")
        pick = lo if self._complete else rng.integers(lo, hi)
        return self.images[self._order[pick]]


def foreground_fractions(
    images: np.ndarray | PackedImages, shape: tuple[int, int, int], binary: bool
) -> np.ndarray:
    """Per-image foreground fraction: mean pixel value over ``max_pixel_value`` (for binary images,
    the share of pixels that are 1). float64 (N,)."""
    size = math.prod(shape)
    if isinstance(images, PackedImages):
        bits = images.bits
        out = np.empty(bits.shape[0], dtype=np.float64)
        for s in range(0, bits.shape[0], _ROW_CHUNK):
            out[s : s + _ROW_CHUNK] = np.bitwise_count(bits[s : s + _ROW_CHUNK]).sum(axis=1, dtype=np.int64)
        return out / size
    flat = images.reshape(images.shape[0], -1)
    out = np.empty(flat.shape[0], dtype=np.float64)
    for s in range(0, flat.shape[0], _ROW_CHUNK):
        out[s : s + _ROW_CHUNK] = flat[s : s + _ROW_CHUNK].sum(axis=1, dtype=np.int64)
    return out / (size * (1 if binary else 255))


def _unpack_rows(bits: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    size = math.prod(shape)
    flat = np.unpackbits(bits, axis=1, count=size)
    return flat.reshape((bits.shape[0], *shape))


def _check_images(images: np.ndarray | PackedImages, binary: bool) -> tuple[PackedImages | None, tuple[int, int, int], int]:
    if isinstance(images, PackedImages):
        if not binary:
            raise DataError("PackedImages hold binary images; pass binary=True")
        size = math.prod(images.shape)
        if size % 8 and len(images) and np.any(images.bits[:, -1] & np.uint8((1 << (8 - size % 8)) - 1)):
            raise DataError("PackedImages.bits has non-zero padding bits after the last pixel")
        return images, tuple(int(s) for s in images.shape), len(images)  # type: ignore[return-value]
    arr = np.asarray(images)
    if arr.dtype != np.uint8 or arr.ndim != 4:
        raise DataError(f"images must be uint8 (N, H, W, C), got {arr.dtype} with shape {arr.shape}")
    shape = (int(arr.shape[1]), int(arr.shape[2]), int(arr.shape[3]))
    if not binary:
        return None, shape, int(arr.shape[0])
    for s in range(0, arr.shape[0], _ROW_CHUNK):
        top = int(arr[s : s + _ROW_CHUNK].max(initial=0))
        if top > 1:
            raise DataError(f"binary images must hold only 0 and 1, found pixel value {top} near row {s}")
    bits = np.packbits(arr.reshape(arr.shape[0], -1), axis=1)
    return PackedImages(bits, shape), shape, int(arr.shape[0])


def _check_factor_spec(
    names: Sequence[str], sizes: Sequence[int], values: Sequence[Sequence[float] | np.ndarray]
) -> tuple[tuple[str, ...], tuple[int, ...], tuple[np.ndarray, ...]]:
    names = tuple(names)
    sizes = tuple(int(s) for s in sizes)
    vals = tuple(np.asarray(v, dtype=np.float64) for v in values)
    if not (len(names) == len(sizes) == len(vals)):
        raise DataError(
            f"factor_names, factor_sizes and factor_values must have equal lengths, got "
            f"{len(names)}, {len(sizes)}, {len(vals)}"
        )
    if len(set(names)) != len(names) or not all(isinstance(n, str) and n for n in names):
        raise DataError(f"factor names must be distinct non-empty strings, got {list(names)}")
    for n, s, v in zip(names, sizes, vals, strict=True):
        if s < 1:
            raise DataError(f"factor {n!r} size must be >= 1, got {s}")
        if v.shape != (s,) or not np.all(np.isfinite(v)):
            raise DataError(f"factor {n!r} needs {s} finite values, got shape {v.shape}")
    return names, sizes, vals


def _check_classes(
    classes: np.ndarray | None, num_images: int, names: tuple[str, ...], sizes: tuple[int, ...]
) -> np.ndarray:
    if not names:
        if classes is not None and np.asarray(classes).size:
            raise DataError("factor_classes given but no factor names")
        return np.zeros((num_images, 0), dtype=np.int64)
    if classes is None:
        raise DataError(f"factor_classes (N, {len(names)}) required for factors {list(names)}")
    arr = np.asarray(classes)
    if arr.shape != (num_images, len(names)) or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
        raise DataError(
            f"factor_classes must be integer ({num_images}, {len(names)}), got {arr.dtype} {arr.shape}"
        )
    arr = arr.astype(np.int64, copy=False)
    for i, (n, s) in enumerate(zip(names, sizes, strict=True)):
        col = arr[:, i]
        if col.size and (col.min() < 0 or col.max() >= s):
            raise DataError(f"factor {n!r} classes must lie in 0..{s - 1}, got {col.min()}..{col.max()}")
    return arr


def _all_unique(classes: np.ndarray, sizes: tuple[int, ...]) -> bool:
    codes = np.sort(classes @ grid_strides(sizes))
    return _sorted_unique(codes)


def _sorted_unique(sorted_codes: np.ndarray) -> bool:
    return bool(sorted_codes.size == 0 or np.all(np.diff(sorted_codes) > 0))
