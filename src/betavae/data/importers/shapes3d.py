"""Import 3dshapes (Burgess & Kim 2018; used by Kim & Mnih 2018, Sec. 4) from ``3dshapes.h5``.

The HDF5 file holds ``images`` uint8 (480000, 64, 64, 3) and ``labels`` float64 (480000, 6), the
factor values in the order floor_hue (10), wall_hue (10), object_hue (10), scale (8), shape (4),
orientation (15), with images enumerating that grid in row-major order. Images are copied in chunks
so the 5.9 GB array never has to be held twice.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from betavae.data.importers.base import (
    ImportedData,
    check_complete_grid,
    classes_from_values,
)
from betavae.errors import DataError

__all__ = ["FACTOR_NAMES", "FILENAME", "FULL_SIZES", "OFFICIAL_SHA256", "OFFICIAL_URL", "read_shapes3d_h5"]

FILENAME = "3dshapes.h5"
OFFICIAL_URL = "https://storage.googleapis.com/3d-shapes/3dshapes.h5"
OFFICIAL_SHA256 = "0a0f6ed98baff276a50f3a081a7434d788da63cb135a98189b2a5b5769be1785"

FACTOR_NAMES = ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation")
FULL_SIZES = (10, 10, 10, 8, 4, 15)
IMAGE_SHAPE = (64, 64, 3)


def read_shapes3d_h5(
    path: str | Path,
    *,
    expect_full: bool = True,
    scratch: Path | None = None,
    chunk_size: int = 4096,
) -> ImportedData:
    """Read and validate ``3dshapes.h5``.

    Args:
        path: the HDF5 file.
        expect_full: require the official 480000-image grid; with False any complete row-major grid
            of the six factors is accepted (for small files in the same format).
        scratch: if given, images are copied into a memory-mapped ``.npy`` at this path instead of
            RAM (the caller deletes it once the dataset is written).
        chunk_size: images read per HDF5 read.

    Raises:
        DataError: a missing dataset, wrong dtype or shape, or labels that are not the factor grid.
    """
    import h5py  # local import: h5py is only needed when this importer runs

    path = Path(path)
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise DataError(f"{path} is not a readable HDF5 file: {exc}") from exc
    with handle:
        for key in ("images", "labels"):
            if key not in handle or not isinstance(handle[key], h5py.Dataset):
                raise DataError(
                    f"3dshapes file {path.name} is missing dataset {key!r} (has {sorted(handle.keys())}); "
                    "expected datasets images and labels"
                )
        images_ds, labels_ds = handle["images"], handle["labels"]
        if images_ds.dtype != np.uint8:
            raise DataError(f"3dshapes file {path.name}: dataset 'images' has dtype {images_ds.dtype}, expected uint8")
        if labels_ds.dtype.kind != "f":
            raise DataError(
                f"3dshapes file {path.name}: dataset 'labels' has dtype {labels_ds.dtype}, expected float64"
            )
        n = images_ds.shape[0] if images_ds.ndim else 0
        full_n = int(np.prod(FULL_SIZES))
        if images_ds.ndim != 4 or tuple(images_ds.shape[1:]) != IMAGE_SHAPE or (expect_full and n != full_n):
            wanted = f"({full_n}, 64, 64, 3)" if expect_full else "(N, 64, 64, 3)"
            raise DataError(
                f"3dshapes file {path.name}: dataset 'images' has shape {images_ds.shape}, expected {wanted}"
            )
        if tuple(labels_ds.shape) != (n, len(FACTOR_NAMES)):
            raise DataError(
                f"3dshapes file {path.name}: dataset 'labels' has shape {labels_ds.shape}, expected ({n}, 6)"
            )
        labels = np.asarray(labels_ds[...], dtype=np.float64)
        classes, values = classes_from_values(labels, FACTOR_NAMES, f"3dshapes file {path.name}: labels")
        sizes = tuple(len(v) for v in values)
        if expect_full and sizes != FULL_SIZES:
            raise DataError(f"3dshapes file {path.name}: labels span the grid {sizes}, expected {FULL_SIZES}")
        check_complete_grid(classes, sizes, f"3dshapes file {path.name}: labels")
        images: np.ndarray
        if scratch is not None:
            images = np.lib.format.open_memmap(scratch, mode="w+", dtype=np.uint8, shape=(n, *IMAGE_SHAPE))
        else:
            images = np.empty((n, *IMAGE_SHAPE), dtype=np.uint8)
        for start in range(0, n, chunk_size):
            stop = min(start + chunk_size, n)
            images_ds.read_direct(images, np.s_[start:stop], np.s_[start:stop])
        if isinstance(images, np.memmap):
            images.flush()
    return ImportedData(
        images=images,
        factor_names=FACTOR_NAMES,
        factor_sizes=sizes,
        factor_values=values,
        factor_classes=classes,
        binary=False,
        complete_grid=True,
        extra={"source_file": path.name},
    )
