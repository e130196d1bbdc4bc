"""Import the official dSprites archive (Matthey et al. 2017, used by Higgins et al. 2017, Sec. 4).

The archive ``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`` holds

- ``imgs``: uint8 (737280, 64, 64), pixels in {0, 1};
- ``latents_values``: float64 (737280, 6), columns color, shape, scale, orientation, posX, posY;
- ``latents_classes``: int64 (737280, 6), the class index of each of those values;
- ``metadata``: a pickled Python 2 dict, which is never read here (unpickling runs code).

Images enumerate the factor grid 1 x 3 x 6 x 40 x 32 x 32 in row-major order. The constant color
factor is dropped, leaving shape, scale, orientation, posX and posY.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from betavae.data.importers.base import ImportedData, check_complete_grid
from betavae.errors import DataError

__all__ = [
    "FACTOR_NAMES",
    "FILENAME",
    "FULL_SIZES",
    "OFFICIAL_MD5",
    "OFFICIAL_URL",
    "read_dsprites_npz",
    "read_npz_headers",
]

FILENAME = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
OFFICIAL_URL = f"https://github.com/deepmind/dsprites-dataset/raw/master/{FILENAME}"
OFFICIAL_MD5 = "7da33b31b13a06f4b04a70402ce90c2e"

#: All six columns of the archive, in order; ``color`` is dropped on import.
ARCHIVE_FACTORS = ("color", "shape", "scale", "orientation", "posX", "posY")
FACTOR_NAMES = ARCHIVE_FACTORS[1:]
#: Grid sizes of the kept factors in the official archive.
FULL_SIZES = (3, 6, 40, 32, 32)
IMAGE_SIZE = 64

_DTYPE_KINDS = {"imgs": ("u1", "uint8"), "latents_values": ("f", "float"), "latents_classes": ("i", "integer")}


def read_npz_headers(path: Path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Shape and dtype of every array in an ``.npz`` archive, read from the ``.npy`` headers only.

    Nothing is decompressed beyond each header and nothing is unpickled, so a 3 GB array can be
    checked before it is loaded.
    """
    headers: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                if not member.endswith(".npy"):
                    continue
                with archive.open(member) as handle:
                    version = np.lib.format.read_magic(handle)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
                    elif version == (2, 0):
                        shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
                    else:
                        raise DataError(f"{path.name}: array {member!r} has unsupported .npy version {version}")
                headers[member[: -len(".npy")]] = (tuple(shape), np.dtype(dtype))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise DataError(f"{path} is not a readable .npz archive: {exc}") from exc
    return headers


def _check_headers(path: Path, headers: dict[str, tuple[tuple[int, ...], np.dtype]], expect_full: bool) -> int:
    """Validate keys, dtypes and shapes from the headers; return the number of images."""
    for key, (kind, described) in _DTYPE_KINDS.items():
        if key not in headers:
            raise DataError(
                f"dSprites archive {path.name} is missing key {key!r} (has {sorted(headers)}); "
                f"expected keys imgs, latents_values, latents_classes"
            )
        dtype = headers[key][1]
        ok = dtype == np.uint8 if kind == "u1" else dtype.kind == kind
        if not ok:
            raise DataError(f"dSprites archive {path.name}: key {key!r} has dtype {dtype}, expected {described}")
    images_shape = headers["imgs"][0]
    if len(images_shape) != 3 or images_shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise DataError(f"dSprites archive {path.name}: key 'imgs' has shape {images_shape}, expected (N, 64, 64)")
    n = images_shape[0]
    full_n = int(np.prod(FULL_SIZES))
    if expect_full and n != full_n:
        raise DataError(
            f"dSprites archive {path.name}: key 'imgs' has shape {images_shape}, expected ({full_n}, 64, 64) "
            "for the official dataset (set expect_full: false to accept a reduced grid)"
        )
    for key in ("latents_values", "latents_classes"):
        shape = headers[key][0]
        if shape != (n, len(ARCHIVE_FACTORS)):
            raise DataError(f"dSprites archive {path.name}: key {key!r} has shape {shape}, expected ({n}, 6)")
    return n


def read_dsprites_npz(path: str | Path, *, expect_full: bool = True) -> ImportedData:
    """Read and validate the official dSprites ``.npz``.

    Args:
        path: the archive.
        expect_full: require the complete official grid (737280 images). With False, any complete
            row-major grid whose classes start at 0 is accepted (for small files in the same format).

    Raises:
        DataError: a missing key, wrong dtype or shape, pixels outside {0, 1}, a color factor that is
            not constant, classes that are not the row-major factor grid, or values inconsistent
            with their classes. The message names the key and what was expected.
    """
    path = Path(path)
    headers = _check_headers(path, read_npz_headers(path), expect_full)
    del headers
    with np.load(path, allow_pickle=False) as archive:
        classes6 = np.asarray(archive["latents_classes"], dtype=np.int64)
        values6 = np.asarray(archive["latents_values"], dtype=np.float64)
        images = archive["imgs"]
    if images.size and int(images.max()) > 1:
        raise DataError(
            f"dSprites archive {path.name}: key 'imgs' holds pixel value {int(images.max())}, expected {{0, 1}}"
        )
    if np.any(classes6[:, 0] != 0):
        raise DataError(
            f"dSprites archive {path.name}: the color factor (column 0 of latents_classes) is not constant 0"
        )
    classes = np.ascontiguousarray(classes6[:, 1:])
    values = values6[:, 1:]
    if classes.size and classes.min() < 0:
        raise DataError(f"dSprites archive {path.name}: latents_classes holds negative classes")
    sizes = tuple(int(s) for s in classes.max(axis=0) + 1) if classes.size else (0,) * len(FACTOR_NAMES)
    if expect_full and sizes != FULL_SIZES:
        raise DataError(f"dSprites archive {path.name}: latents_classes spans the grid {sizes}, expected {FULL_SIZES}")
    check_complete_grid(classes, sizes, f"dSprites archive {path.name}: latents_classes")
    factor_values = _values_per_class(path, classes, values, sizes)
    return ImportedData(
        images=images.reshape(images.shape[0], IMAGE_SIZE, IMAGE_SIZE, 1),
        factor_names=FACTOR_NAMES,
        factor_sizes=sizes,
        factor_values=factor_values,
        factor_classes=classes,
        binary=True,
        complete_grid=True,
        extra={"source_file": path.name, "dropped_factors": ["color"]},
    )


def _values_per_class(
    path: Path, classes: np.ndarray, values: np.ndarray, sizes: tuple[int, ...]
) -> tuple[np.ndarray, ...]:
    """The value of each class of each factor, checking every image agrees with it."""
    out = []
    for k, name in enumerate(FACTOR_NAMES):
        per_class = np.zeros(sizes[k], dtype=np.float64)
        # In a complete grid every class occurs; take the value at its first occurrence.
        first = np.unique(classes[:, k], return_index=True)[1]
        per_class[classes[first, k]] = values[first, k]
        if not np.allclose(per_class[classes[:, k]], values[:, k], rtol=0.0, atol=1e-6):
            raise DataError(f"dSprites archive {path.name}: latents_values of factor {name!r} differ within one class")
        out.append(per_class)
    return tuple(out)
