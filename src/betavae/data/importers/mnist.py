"""Import MNIST (LeCun et al. 1998) and EMNIST (Cohen et al. 2017) from their IDX files.

An IDX file starts with a big-endian 32-bit magic number, whose third byte is the element type
(0x08 = unsigned byte) and fourth the number of dimensions, followed by one big-endian 32-bit size
per dimension and the row-major data. Image files have magic 2051 (0x00000803, three dimensions
N x 28 x 28), label files 2049 (0x00000801, one dimension N). Files may be gzip-compressed.

The class label is the only known generative factor. It is not a complete grid: each class has many
images, so these datasets support metrics that take (codes, labels) but not grid sampling.

EMNIST ships its IDX files inside one zip (``gzip/emnist-<subset>-<split>-images-idx3-ubyte.gz``)
with each image transposed relative to MNIST; they are transposed back on import.
"""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path
from typing import BinaryIO

import numpy as np

from betavae.config.datasets import EMNIST_LABELS
from betavae.config.datasets import MNIST_SPLITS as SPLITS
from betavae.data.importers.base import ImportedData
from betavae.errors import ConfigError, DataError

__all__ = [
    "EMNIST_LABELS",
    "EMNIST_MD5",
    "EMNIST_URL",
    "IMAGES_MAGIC",
    "LABELS_MAGIC",
    "MNIST_FILES",
    "MNIST_MD5",
    "MNIST_URL",
    "emnist_member_names",
    "read_emnist",
    "read_idx",
    "read_mnist",
]

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049

#: Base URL of the MNIST mirror that torchvision and others use since yann.lecun.com went offline.
MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
MNIST_FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
MNIST_MD5: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}

EMNIST_URL = "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip"
EMNIST_FILENAME = "gzip.zip"
EMNIST_MD5 = "58c8d27c78d21e728a6bc7b3cc06412e"
IMAGE_SIDE = 28

_GZIP_MAGIC = b"\x1f\x8b"


def _open_maybe_gzip(source: Path | bytes) -> BinaryIO:
    raw: BinaryIO = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")  # noqa: SIM115
    head = raw.read(2)
    raw.seek(0)
    return gzip.GzipFile(fileobj=raw, mode="rb") if head == _GZIP_MAGIC else raw  # type: ignore[return-value]


def read_idx(source: Path | bytes, *, expected_magic: int, name: str | None = None) -> np.ndarray:
    """Parse an unsigned-byte IDX file (raw or gzip) into a uint8 array of the shape its header gives.

    Args:
        source: a path, or the file's bytes.
        expected_magic: 2051 for image files, 2049 for label files.
        name: how to name the file in errors (defaults to the path's name).

    Raises:
        DataError: wrong magic number, a dimension count that disagrees with the magic, or a data
            section whose length differs from the product of the header's sizes.
    """
    shown = name or (source.name if isinstance(source, Path) else "<bytes>")
    try:
        with _open_maybe_gzip(source) as stream:
            header = stream.read(4)
            if len(header) != 4:
                raise DataError(f"IDX file {shown} is too short to hold a header ({len(header)} bytes)")
            magic = int.from_bytes(header, "big")
            if magic != expected_magic:
                raise DataError(f"IDX file {shown} has magic number {magic}, expected {expected_magic}")
            ndim = header[3]
            dims_raw = stream.read(4 * ndim)
            if len(dims_raw) != 4 * ndim:
                raise DataError(f"IDX file {shown} ends inside its header")
            dims = tuple(int(d) for d in np.frombuffer(dims_raw, dtype=">u4"))
            data = stream.read()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"IDX file {shown} cannot be read: {exc}") from exc
    expected = int(np.prod(dims, dtype=np.int64))
    if len(data) != expected:
        raise DataError(f"IDX file {shown} holds {len(data)} bytes of data, but its header {dims} needs {expected}")
    return np.frombuffer(data, dtype=np.uint8).reshape(dims)


def _images_and_labels(images: np.ndarray, labels: np.ndarray, images_name: str, labels_name: str) -> None:
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise DataError(f"IDX file {images_name} holds images of shape {images.shape}, expected (N, 28, 28)")
    if labels.ndim != 1:
        raise DataError(f"IDX file {labels_name} holds labels of shape {labels.shape}, expected (N,)")
    if labels.shape[0] != images.shape[0]:
        raise DataError(
            f"{images_name} holds {images.shape[0]} images but {labels_name} holds {labels.shape[0]} labels"
        )


def _build(
    images: np.ndarray,
    labels: np.ndarray,
    label_values: tuple[int, ...],
    labels_name: str,
    limit: int | None,
    extra: dict[str, object],
    keep: tuple[int, ...] | None = None,
) -> ImportedData:
    """The images with their label as the one factor; `keep` (label values) leaves out the other classes,
    and the factor's classes are then the kept labels, in increasing order. `limit` applies last."""
    allowed = np.asarray(label_values, dtype=np.int64)
    lookup = np.full(256, -1, dtype=np.int64)
    lookup[allowed] = np.arange(len(allowed))
    bad = np.flatnonzero(lookup[labels] < 0)
    if bad.size:
        raise DataError(
            f"IDX file {labels_name}: label {int(labels[bad[0]])} at index {int(bad[0])} is not one of "
            f"{label_values[0]}..{label_values[-1]}"
        )
    if keep is not None:
        chosen = np.isin(labels, keep)
        if not chosen.any():
            raise DataError(f"IDX file {labels_name} holds no image of the classes {list(keep)}")
        images, labels = images[chosen], labels[chosen]
        allowed = np.asarray(keep, dtype=np.int64)
        lookup = np.full(256, -1, dtype=np.int64)
        lookup[allowed] = np.arange(len(allowed))
        extra = {**extra, "classes": list(keep)}
    classes = lookup[labels]
    if limit is not None:
        images, classes = images[:limit], classes[:limit]
    return ImportedData(
        images=np.ascontiguousarray(images).reshape(-1, IMAGE_SIDE, IMAGE_SIDE, 1),
        factor_names=("label",),
        factor_sizes=(len(allowed),),
        factor_values=(allowed.astype(np.float64),),
        factor_classes=classes.reshape(-1, 1),
        binary=False,
        complete_grid=False,
        extra=extra,
    )


def read_mnist(
    images_path: Path,
    labels_path: Path,
    *,
    split: str = "train",
    limit: int | None = None,
    classes: tuple[int, ...] | None = None,
) -> ImportedData:
    """Read an MNIST image/label IDX pair (raw or gzip); ``classes`` keeps those digits only, ``limit``
    the first images only."""
    if split not in SPLITS:
        raise ConfigError(f"MNIST split must be one of {SPLITS}, got {split!r}")
    images = read_idx(images_path, expected_magic=IMAGES_MAGIC)
    labels = read_idx(labels_path, expected_magic=LABELS_MAGIC)
    _images_and_labels(images, labels, images_path.name, labels_path.name)
    extra: dict[str, object] = {"split": split, "source_files": [images_path.name, labels_path.name]}
    return _build(images, labels, tuple(range(10)), labels_path.name, limit, extra, classes)


def emnist_member_names(subset: str, split: str) -> tuple[str, str]:
    """File names of an EMNIST subset's images and labels, e.g. emnist-letters-train-images-idx3-ubyte.gz."""
    if subset not in EMNIST_LABELS:
        raise ConfigError(f"EMNIST subset must be one of {sorted(EMNIST_LABELS)}, got {subset!r}")
    if split not in SPLITS:
        raise ConfigError(f"EMNIST split must be one of {SPLITS}, got {split!r}")
    stem = f"emnist-{subset}-{split}"
    return f"{stem}-images-idx3-ubyte.gz", f"{stem}-labels-idx1-ubyte.gz"


def _emnist_bytes(source: Path, member: str) -> tuple[bytes, str]:
    """Bytes of one EMNIST file from the official zip, or from a directory holding it (gz or raw)."""
    if source.is_dir():
        for candidate in (source / member, source / member.removesuffix(".gz"), source / "gzip" / member):
            if candidate.is_file():
                return candidate.read_bytes(), candidate.name
        raise DataError(f"EMNIST directory {source} has no {member} (or its uncompressed form)")
    try:
        with zipfile.ZipFile(source) as archive:
            names = {Path(n).name: n for n in archive.namelist()}
            if member not in names:
                raise DataError(f"EMNIST archive {source.name} has no member {member}")
            return archive.read(names[member]), member
    except zipfile.BadZipFile as exc:
        raise DataError(f"EMNIST archive {source} is not a readable zip file: {exc}") from exc


def read_emnist(
    source: Path,
    *,
    subset: str = "balanced",
    split: str = "train",
    limit: int | None = None,
    classes: tuple[int, ...] | None = None,
) -> ImportedData:
    """Read one EMNIST subset from the official ``gzip.zip`` or a directory of its IDX files; ``classes``
    keeps those label values only (``letters``: 1 = A/a, ..., 26 = Z/z).

    Images are transposed back to MNIST orientation (EMNIST stores them column-major).
    """
    images_member, labels_member = emnist_member_names(subset, split)
    images_bytes, images_name = _emnist_bytes(source, images_member)
    labels_bytes, labels_name = _emnist_bytes(source, labels_member)
    images = read_idx(images_bytes, expected_magic=IMAGES_MAGIC, name=images_name)
    labels = read_idx(labels_bytes, expected_magic=LABELS_MAGIC, name=labels_name)
    _images_and_labels(images, labels, images_name, labels_name)
    images = images.transpose(0, 2, 1)
    extra = {"split": split, "subset": subset, "source_files": [images_name, labels_name], "transposed": True}
    return _build(images, labels, EMNIST_LABELS[subset], labels_name, limit, extra, classes)
