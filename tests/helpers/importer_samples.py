"""Small files in each official format, with contents known exactly, for offline tests and demos.

No machine of this project reaches the dataset hosts, so the importers are exercised on files written
here: same keys, dtypes, layouts and compression as the published ones, on a reduced factor grid.
The ``*_arrays`` functions return the arrays so a test can break one (drop a key, change a dtype)
before saving it with the matching ``save_*`` function.
"""

from __future__ import annotations

import colorsys
import gzip
import io
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from betavae.data.ground_truth import all_grid_classes
from betavae.data.importers import dsprites_official, mnist, shapes3d


def idx_bytes(array: np.ndarray, *, compress: bool = True) -> bytes:
    """A uint8 array encoded as an IDX file (gzip-compressed when ``compress``); the inverse of
    :func:`betavae.data.importers.mnist.read_idx`, for writing small files in the official format."""
    if array.dtype != np.uint8 or array.ndim not in (1, 3):
        raise ValueError(f"IDX writer takes uint8 arrays with 1 or 3 dimensions, got {array.dtype} {array.shape}")
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(array).tobytes()
    return gzip.compress(payload, mtime=0) if compress else payload


def write_idx(path: Path, array: np.ndarray, *, compress: bool = True) -> Path:
    """Write a uint8 array as an IDX file (see :func:`idx_bytes`)."""
    path.write_bytes(idx_bytes(array, compress=compress))
    return path


__all__ = [
    "celeba_image",
    "dsprites_arrays",
    "grid_classes",
    "mnist_arrays",
    "save_h5",
    "save_npz",
    "shapes3d_arrays",
    "write_celeba_zip",
    "write_emnist_zip",
    "write_mnist_dir",
]


def grid_classes(sizes: Sequence[int]) -> np.ndarray:
    """Every combination of a row-major factor grid, last factor fastest: int64 (prod(sizes), k)."""
    return all_grid_classes(sizes)


def dsprites_arrays(sizes: Sequence[int] = (3, 2, 2, 2, 2)) -> dict[str, np.ndarray]:
    """Arrays of a dSprites archive on a reduced grid of (shape, scale, orientation, posX, posY).

    Values follow the official encoding: shape 1..3, scale 0.5 + 0.1 c, orientation c * 2 pi / 39,
    position c / 31. Image k is a filled square whose side is 4 + 2 * scale class, its top-left corner
    at (row 8 + 4 * posY class, column 8 + 4 * posX class), with one extra pixel per shape class so
    that every image differs. ``metadata`` is a pickled object array like the published one.
    """
    if len(sizes) != 5:
        raise ValueError(f"dSprites has 5 factors, got sizes {tuple(sizes)}")
    kept = grid_classes(sizes)
    n = kept.shape[0]
    classes = np.concatenate([np.zeros((n, 1), dtype=np.int64), kept], axis=1)
    values = np.stack(
        [
            np.ones(n),
            kept[:, 0] + 1.0,
            0.5 + 0.1 * kept[:, 1],
            kept[:, 2] * (2 * np.pi / 39),
            kept[:, 3] / 31.0,
            kept[:, 4] / 31.0,
        ],
        axis=1,
    )
    imgs = np.zeros((n, 64, 64), dtype=np.uint8)
    for k, (shape, scale, _, x, y) in enumerate(kept):
        side, top, left = 4 + 2 * scale, 8 + 4 * y, 8 + 4 * x
        imgs[k, top : top + side, left : left + side] = 1
        imgs[k, 0, shape] = 1
    metadata = np.array({"description": "reduced dSprites sample", "latents_sizes": [1, *sizes]}, dtype=object)
    return {"imgs": imgs, "latents_values": values, "latents_classes": classes, "metadata": metadata}


def save_npz(path: Path, arrays: Mapping[str, np.ndarray]) -> Path:
    """Save arrays as a compressed ``.npz`` (as the published dSprites file is)."""
    with open(path, "wb") as handle:
        np.savez_compressed(handle, **arrays)
    return path


#: Factor values of the published 3dshapes grid, per factor.
SHAPES3D_VALUES = (
    np.linspace(0.0, 1.0, 10, endpoint=False),
    np.linspace(0.0, 1.0, 10, endpoint=False),
    np.linspace(0.0, 1.0, 10, endpoint=False),
    np.linspace(0.75, 1.25, 8),
    np.arange(4, dtype=np.float64),
    np.linspace(-30.0, 30.0, 15),
)


def shapes3d_arrays(sizes: Sequence[int] = (2, 2, 2, 2, 2, 3)) -> dict[str, np.ndarray]:
    """``images`` uint8 (N, 64, 64, 3) and ``labels`` float64 (N, 6) of a reduced 3dshapes grid.

    Labels take the first ``sizes[k]`` published values of each factor. The wall (rows 0-31) and
    floor (rows 32-63) are filled with their hue at full saturation and value; a centred square of
    side 8 * (1 + scale class) has the object hue.
    """
    classes = grid_classes(sizes)
    labels = np.stack([SHAPES3D_VALUES[k][classes[:, k]] for k in range(6)], axis=1)
    images = np.zeros((classes.shape[0], 64, 64, 3), dtype=np.uint8)

    def rgb(hue: float) -> np.ndarray:
        return np.rint(255 * np.asarray(colorsys.hsv_to_rgb(hue, 1.0, 1.0))).astype(np.uint8)

    for k, (floor, wall, obj, scale, _, _) in enumerate(classes):
        images[k, :32] = rgb(SHAPES3D_VALUES[1][wall])
        images[k, 32:] = rgb(SHAPES3D_VALUES[0][floor])
        half = 4 * (1 + scale)
        images[k, 32 - half : 32 + half, 32 - half : 32 + half] = rgb(SHAPES3D_VALUES[2][obj])
    return {"images": images, "labels": labels}


def save_h5(path: Path, arrays: Mapping[str, np.ndarray], *, chunk_rows: int = 16) -> Path:
    """Save arrays as HDF5 datasets (chunked and gzip-compressed along the first axis)."""
    import h5py

    with h5py.File(path, "w") as handle:
        for key, value in arrays.items():
            chunks = (min(chunk_rows, value.shape[0]), *value.shape[1:]) if value.ndim and value.shape[0] else None
            handle.create_dataset(key, data=value, chunks=chunks, compression="gzip" if chunks else None)
    return path


def mnist_arrays(n: int, num_classes: int = 10, first_label: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` 28 x 28 uint8 images and labels: image i has label ``first_label + i % num_classes`` and a
    bright vertical bar in column ``2 + (i % num_classes) % 24`` whose brightness is ``100 + i % 156``."""
    i = np.arange(n)
    labels = (first_label + i % num_classes).astype(np.uint8)
    images = np.zeros((n, 28, 28), dtype=np.uint8)
    images[i, 4:24, 2 + (i % num_classes) % 24] = (100 + i % 156).astype(np.uint8)[:, None]
    return images, labels


def write_mnist_dir(folder: Path, split: str = "train", n: int = 50, *, compress: bool = True) -> tuple[Path, Path]:
    """Write an MNIST image/label IDX pair under their published names (gzip unless ``compress`` is False)."""
    folder.mkdir(parents=True, exist_ok=True)
    images_name, labels_name = mnist.MNIST_FILES[split]
    if not compress:
        images_name, labels_name = images_name.removesuffix(".gz"), labels_name.removesuffix(".gz")
    images, labels = mnist_arrays(n)
    return (
        write_idx(folder / images_name, images, compress=compress),
        write_idx(folder / labels_name, labels, compress=compress),
    )


def write_emnist_zip(
    path: Path, subset: str = "letters", split: str = "train", n: int = 52, *, test_n: int = 0
) -> Path:
    """Write a ``gzip.zip`` like EMNIST's, holding one subset/split with images stored transposed; with
    `test_n`, the subset's test split as well (its images the complements of the first `test_n`)."""
    labels_allowed = mnist.EMNIST_LABELS[subset]
    parts = [(split, *mnist_arrays(n, num_classes=len(labels_allowed), first_label=labels_allowed[0]))]
    if test_n:
        images, labels = mnist_arrays(test_n, num_classes=len(labels_allowed), first_label=labels_allowed[0])
        parts.append(("test", 255 - images, labels))
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for part, images, labels in parts:
            images_name, labels_name = mnist.emnist_member_names(subset, part)
            archive.writestr(f"gzip/{images_name}", idx_bytes(np.ascontiguousarray(images.transpose(0, 2, 1))))
            archive.writestr(f"gzip/{labels_name}", idx_bytes(labels))
    return Path(path)


def celeba_image(index: int, width: int = 178, height: int = 218, crop: int = 140) -> np.ndarray:
    """A 218 x 178 RGB test image: the centre ``crop`` square is one flat colour, the border another.

    Centre colour: (40 + 10 * (index % 20), 200 - 5 * (index % 30), 90); border: (250, 250, 250).
    """
    image = np.full((height, width, 3), 250, dtype=np.uint8)
    top, left = (height - crop) // 2, (width - crop) // 2
    image[top : top + crop, left : left + crop] = (40 + 10 * (index % 20), 200 - 5 * (index % 30), 90)
    return image


def write_celeba_zip(path: Path, n: int = 6, *, corrupt_index: int | None = None, first: int = 1) -> Path:
    """Write an ``img_align_celeba.zip`` with ``n`` JPEGs named by their number from `first` (000001.jpg,
    ...) under img_align_celeba/; CelebA's official test partition starts at 182638.jpg.

    With ``corrupt_index`` that image's bytes are replaced by garbage (a file that cannot be decoded).
    """
    from PIL import Image

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for i in range(n):
            buffer = io.BytesIO()
            Image.fromarray(celeba_image(i)).save(buffer, format="JPEG", quality=95)
            data = b"not a jpeg" if i == corrupt_index else buffer.getvalue()
            archive.writestr(f"img_align_celeba/{first + i:06d}.jpg", data)
    return path


# Re-exported for tests that build archives by hand.
DSPRITES_FILENAME = dsprites_official.FILENAME
SHAPES3D_FILENAME = shapes3d.FILENAME
