"""The on-disk layout shared by every dataset: file names, the manifest, and bit-packed images.

A dataset directory holds:

- ``images.npy.zst``: the images as a zstd-compressed ``.npy`` stream (see ``_zstd_npy``). Binary
  datasets store their rows bit-packed with ``np.packbits`` (shape (N, ceil(H*W*C / 8))), others
  store uint8 (N, H, W, C). The manifest's ``images_file`` names the file, so readers never guess.
- ``factors.parquet``: one int64 column per factor holding the class index, named by the factor
  (absent when a dataset has no factors).
- ``test_rows.npy.zst``: the sorted row numbers of the held-out test split (:mod:`betavae.data.split`),
  present when the dataset holds images out; the manifest's ``split`` entry says how they were chosen.
- ``manifest.json``: name, kind, source, shapes, factor names/sizes/values, the per-image foreground
  fraction range, whether the factors form a complete grid, the split, and the sha256 and size of every
  file.

:mod:`~betavae.data.storage.writer` writes this layout atomically, :mod:`~betavae.data.storage.reader`
loads it back as ground-truth data.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from betavae.data._zstd_npy import sha256_file
from betavae.errors import DataError

FORMAT_VERSION = 1
IMAGES_FILE = "images.npy.zst"
FACTORS_FILE = "factors.parquet"
SPLIT_FILE = "test_rows.npy.zst"
MANIFEST_FILE = "manifest.json"
ROW_CHUNK = 65536  # rows handled at once when scanning images


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
        return unpack_rows(self.bits, self.shape)


def unpack_rows(bits: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Bit-packed rows (N, B) back to uint8 images (N, H, W, C) in {0, 1}."""
    size = math.prod(shape)
    flat = np.unpackbits(bits, axis=1, count=size)
    return flat.reshape((bits.shape[0], *shape))


def images_digest(manifest: Mapping[str, Any]) -> str:
    """The sha256 of a dataset's image file as its manifest records it."""
    return str(manifest["files"].get(manifest.get("images_file", IMAGES_FILE), {}).get("sha256", ""))


def dataset_digest(manifest: Mapping[str, Any]) -> str:
    """The dataset's identity: its images' sha256, and where it holds images out, the sha256 of that and of
    its test rows, so the same images with another split are another dataset."""
    images = images_digest(manifest)
    split = manifest.get("split")
    if not split:
        return images
    rows = str(manifest["files"].get(split["file"], {}).get("sha256", ""))
    return hashlib.sha256(f"{images}+{rows}".encode()).hexdigest()


def read_manifest(dataset_dir: Path | str) -> dict[str, Any]:
    """The parsed ``manifest.json`` of a dataset directory."""
    path = Path(dataset_dir) / MANIFEST_FILE
    if not path.is_file():
        raise DataError(f"{path}: no manifest; is {Path(dataset_dir)} a dataset directory?")
    try:
        manifest = json.loads(path.read_text())
    except ValueError as exc:  # invalid JSON or not UTF-8
        raise DataError(f"{path}: manifest is not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict):
        raise DataError(f"{path}: manifest must be a JSON object, got {type(manifest).__name__}")
    missing = {"name", "num_images", "observation_shape", "binary", "packed", "factor_names", "files"} - set(manifest)
    if missing:
        raise DataError(f"{path}: manifest lacks keys {sorted(missing)}")
    files = manifest["files"]
    if not isinstance(files, dict):
        raise DataError(f"{path}: manifest `files` must be an object of file name -> sha256, got {files!r:.80}")
    for fname, meta in files.items():
        if not isinstance(meta, dict) or not isinstance(meta.get("sha256"), str):
            raise DataError(f"{path}: the manifest's entry for {fname!r} lacks its sha256, got {meta!r:.80}")
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


def strictly_increasing(sorted_codes: np.ndarray) -> bool:
    """True when sorted grid codes hold no repeats, i.e. each factor combination occurs at most once."""
    return bool(sorted_codes.size == 0 or np.all(np.diff(sorted_codes) > 0))
