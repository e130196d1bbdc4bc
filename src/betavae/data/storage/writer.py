"""Write a dataset directory in the layout of :mod:`betavae.data.storage.layout`, atomically.

Everything goes to a temporary sibling directory that is renamed into place only once complete, so a
crash never leaves a half-written dataset behind.
"""

from __future__ import annotations

import json
import math
import shutil
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from betavae import faults
from betavae.data._zstd_npy import save_array, sha256_file
from betavae.data.ground_truth import grid_index
from betavae.data.split import check_test_rows
from betavae.data.storage.layout import (
    FACTORS_FILE,
    FORMAT_VERSION,
    IMAGES_FILE,
    MANIFEST_FILE,
    ROW_CHUNK,
    SPLIT_FILE,
    PackedImages,
    strictly_increasing,
)
from betavae.data.storage.stats import foreground_fractions
from betavae.errors import DataError, disk_full
from betavae.io import replace_dir


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
    test_rows: np.ndarray | None = None,
    split: Mapping[str, Any] | None = None,
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
        test_rows: the sorted rows held out for testing (:mod:`betavae.data.split`); None or empty
            holds nothing out.
        split: how `test_rows` were chosen (e.g. ``{"rule": "seeded", "test_fraction": 0.1, "seed": 0}``),
            recorded in the manifest's ``split`` entry.
    """
    out_dir = Path(out_dir)
    names, sizes, values = _check_factor_spec(factor_names, factor_sizes, factor_values)
    if not isinstance(name, str) or not name:
        raise DataError(f"dataset name must be a non-empty string, got {name!r}")
    packed, shape, num_images = _check_images(images, binary)
    classes = _check_classes(factor_classes, num_images, names, sizes)
    fractions = foreground_fractions(images if packed is None else packed, shape, binary)  # packed iff binary
    held = check_test_rows(np.zeros(0, dtype=np.int64) if test_rows is None else test_rows, num_images)

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
    if held.size:
        manifest["split"] = {
            **dict(split or {}),
            "file": SPLIT_FILE,
            "num_train": num_images - int(held.size),
            "num_test": int(held.size),
        }
    try:
        json.dumps(manifest)
    except TypeError as exc:
        raise DataError(f"manifest extra must be JSON-serialisable: {exc}") from exc

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        payload = np.asarray(images) if packed is None else packed.bits
        # Packed bits are small and compress ~170x at a high level in about a second; full-colour
        # images are large and little compressible, so a fast level keeps writes near disk speed.
        level = 9 if binary else 1
        manifest["images_compression"] = {"codec": "zstd", "level": level}
        digest = save_array(tmp / IMAGES_FILE, payload, level=level)
        manifest["files"][IMAGES_FILE] = {"sha256": digest, "bytes": (tmp / IMAGES_FILE).stat().st_size}
        faults.reached("dataset-staged")
        if names:
            table = pa.table({n: pa.array(classes[:, i], type=pa.int64()) for i, n in enumerate(names)})
            pq.write_table(table, tmp / FACTORS_FILE, compression="zstd")
            manifest["files"][FACTORS_FILE] = {
                "sha256": sha256_file(tmp / FACTORS_FILE),
                "bytes": (tmp / FACTORS_FILE).stat().st_size,
            }
        if held.size:
            manifest["files"][SPLIT_FILE] = {
                "sha256": save_array(tmp / SPLIT_FILE, held),
                "bytes": (tmp / SPLIT_FILE).stat().st_size,
            }
        (tmp / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        replace_dir(tmp, out_dir)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        full = disk_full(exc, out_dir.parent)
        if full is not None:
            raise full from exc
        raise
    return out_dir


def _check_images(
    images: np.ndarray | PackedImages, binary: bool
) -> tuple[PackedImages | None, tuple[int, int, int], int]:
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
    for s in range(0, arr.shape[0], ROW_CHUNK):
        top = int(arr[s : s + ROW_CHUNK].max(initial=0))
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
        raise DataError(f"factor_classes must be integer ({num_images}, {len(names)}), got {arr.dtype} {arr.shape}")
    arr = arr.astype(np.int64, copy=False)
    for i, (n, s) in enumerate(zip(names, sizes, strict=True)):
        col = arr[:, i]
        if col.size and (col.min() < 0 or col.max() >= s):
            raise DataError(f"factor {n!r} classes must lie in 0..{s - 1}, got {col.min()}..{col.max()}")
    return arr


def _all_unique(classes: np.ndarray, sizes: tuple[int, ...]) -> bool:
    codes = np.sort(grid_index(classes, sizes))
    return strictly_increasing(codes)
