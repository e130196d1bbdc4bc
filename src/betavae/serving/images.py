"""Images handed in by a user (a `.npy` file on the command line, a served request), checked against a model.

One reader and one checker serve every entry point, so a truncated file, a pickled object array, a text
file, a wrong shape or a pixel range the model was not trained on is refused with the same message
everywhere, before any model sees it. A `.npy` file is parsed from its header first and never unpickled.

A model trained on pixels in ``0..max_pixel_value`` (``{0, 1}`` for binary datasets such as dSprites,
Higgins et al. 2017 Sec. 4) encodes ``0..255`` images to meaningless latents, so such input is refused;
``rescale=True`` (``--rescale`` on the command line) maps ``0..255`` integers or ``0..1`` floats onto the
model's range instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from betavae.errors import DataError

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"
#: Dtype kinds accepted as pixel values: bool, unsigned and signed integers, floats.
PIXEL_KINDS = "buif"


def read_npy(path: Path | str, what: str = "--images") -> np.ndarray:
    """Read one array from a `.npy` file, refusing anything that is not a complete plain numeric array.

    Raises:
        DataError: a missing, empty, truncated or non-`.npy` file, an `.npz` archive, or an array of
            Python objects (which would need unpickling); the message names `what` and the file.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{what}: no such file {path}")
    size = path.stat().st_size
    if size == 0:
        raise DataError(f"{what}: {path} is empty; expected a .npy array written by numpy.save")
    with open(path, "rb") as fh:
        head = fh.read(len(NPY_MAGIC))
        if head.startswith(ZIP_MAGIC[:2]):
            raise DataError(f"{what}: {path} is a zip/.npz archive; expected one array saved with numpy.save")
        if head != NPY_MAGIC:
            raise DataError(
                f"{what}: {path} is not a .npy file (it starts with {head[:6]!r}, "
                f"expected {NPY_MAGIC!r}); save the images with numpy.save"
            )
        fh.seek(0)
        try:
            version = np.lib.format.read_magic(fh)
            read_header = (
                np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            )
            shape, _, dtype = read_header(fh)  # the header only: no data read, nothing unpickled
        except Exception as exc:  # numpy parses the header with several parsers; any failure means damaged
            raise DataError(f"{what}: {path} has a damaged .npy header ({exc})") from exc
        if dtype.hasobject:
            raise DataError(
                f"{what}: {path} holds Python objects (dtype {dtype}), which would have to be "
                "unpickled; expected a numeric array such as uint8"
            )
        expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        available = size - fh.tell()
        if available != expected:
            state = "truncated" if available < expected else "longer than its header says"
            raise DataError(
                f"{what}: {path} is {state}: its header announces {dtype} {tuple(shape)} "
                f"({expected} data bytes), the file holds {available}"
            )
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"{what}: {path} is not a readable .npy array ({exc})") from exc


def check_images(
    images: object,
    observation_shape: tuple[int, ...],
    max_pixel_value: int,
    *,
    rescale: bool = False,
    what: str = "images",
) -> np.ndarray:
    """Return `images` as uint8 ``(n, H, W, C)`` in ``0..max_pixel_value``, or raise DataError saying why not.

    `observation_shape` is the model's ``(H, W, C)``; ``(n, H, W)`` is accepted for one channel. With
    `rescale`, integer input is read as ``0..255`` and float input as ``0..1``, and mapped linearly onto
    ``0..max_pixel_value`` (rounded); without it, values must already be integers in the model's range.
    """
    expected = tuple(int(s) for s in observation_shape)
    shown = f"(n, {', '.join(map(str, expected))})"
    array = np.asarray(images) if not isinstance(images, np.ndarray) else images
    if array.dtype.kind not in PIXEL_KINDS:
        raise DataError(f"{what}: pixel values must be numbers (uint8 preferred), got dtype {array.dtype}")
    given = tuple(array.shape)
    if array.ndim == len(expected) and expected[-1] == 1:
        array = array[..., None]
    if array.ndim != len(expected) + 1 or tuple(array.shape[1:]) != expected:
        raise DataError(
            f"{what}: expected images of shape {shown}"
            f"{' or (n, ' + ', '.join(map(str, expected[:-1])) + ')' if expected[-1] == 1 else ''}"
            f", got {given}"
        )
    if array.shape[0] == 0:
        raise DataError(f"{what}: no images (shape {tuple(array.shape)}); expected at least one")
    values = array.astype(np.float64, copy=False)
    if not np.isfinite(values).all():
        raise DataError(f"{what}: pixel values include NaN or infinity")
    low, high = float(values.min()), float(values.max())
    model_range = f"integers in 0..{max_pixel_value}" + (" (binary images)" if max_pixel_value == 1 else "")
    if rescale:
        source_max = 1.0 if array.dtype.kind == "f" else 255.0
        if low < 0 or high > source_max:
            raise DataError(
                f"{what}: --rescale maps 0..{source_max:g} onto 0..{max_pixel_value}, but the "
                f"pixel values span {low:g}..{high:g}"
            )
        return np.rint(values * (max_pixel_value / source_max)).astype(np.uint8)
    integral = array.dtype.kind in "bui" or bool(np.all(values == np.rint(values)))
    if low < 0 or high > max_pixel_value or not integral:
        span = f"{low:g}..{high:g}" + ("" if integral else " (not all integers)")
        raise DataError(
            f"{what}: pixel values span {span}, but the model was trained on {model_range}; "
            f"convert them, or pass --rescale to map 0..255 (or floats 0..1) onto "
            f"0..{max_pixel_value}"
        )
    return array.astype(np.uint8, copy=False)


def check_output_path(path: Path | str, what: str = "--out") -> Path:
    """A file path the command may write: not a directory, inside a directory that exists or can be made."""
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{what}: {path} is a directory; expected a file name such as codes.npy")
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise DataError(f"{what}: cannot create {path}: {parent} is not a writable directory")
    return path
