"""Read and write one NumPy array as a zstd-compressed ``.npy`` stream.

The file is an ordinary ``.npy`` file (header + raw C-order data) passed through zstd, written as a
sequence of independent frames so large arrays never need a second full-size copy. ``zstd -d`` turns
it back into a ``.npy`` that ``numpy.load`` reads. Reading decompresses straight into the final array.
"""

from __future__ import annotations

import hashlib
import io
import tokenize
from pathlib import Path

import numpy as np
import pyarrow as pa

from betavae.errors import DataError

__all__ = ["load_array", "save_array", "sha256_file"]

_CHUNK_BYTES = 32 * 1024 * 1024


def save_array(path: Path, array: np.ndarray, *, level: int = 9) -> str:
    """Write ``array`` to ``path`` as zstd-compressed .npy; return the sha256 of the bytes written."""
    arr = np.ascontiguousarray(array)
    if arr.dtype.hasobject:
        raise DataError(f"cannot store object arrays, got dtype {arr.dtype}")
    codec = pa.Codec("zstd", compression_level=level)
    header = io.BytesIO()
    np.lib.format.write_array_header_2_0(header, np.lib.format.header_data_from_array_1_0(arr))
    digest = hashlib.sha256()
    flat = arr.reshape(-1).view(np.uint8)
    with open(path, "wb") as fh:
        pieces: list[bytes | np.ndarray] = [header.getvalue()]
        for start in range(0, flat.size, _CHUNK_BYTES):
            pieces.append(flat[start : start + _CHUNK_BYTES])
        for piece in pieces:
            frame = codec.compress(piece, asbytes=True)
            digest.update(frame)
            fh.write(frame)
    return digest.hexdigest()


def load_array(path: Path) -> np.ndarray:
    """Read an array written by :func:`save_array`; raises DataError when the stream is damaged."""
    try:
        with pa.input_stream(str(path), compression="zstd") as stream:
            version = np.lib.format.read_magic(stream)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
            if dtype.hasobject:
                raise DataError(f"{path}: holds Python objects (dtype {dtype}); stored arrays are numeric")
            if fortran:
                raise DataError(f"{path}: Fortran-ordered arrays are not written by this project")
            out = np.empty(shape, dtype=dtype)
            view = out.reshape(-1).view(np.uint8).data  # a memoryview of the array's bytes
            filled = 0
            while filled < view.nbytes:
                got = stream.readinto(view[filled:])
                if got == 0:
                    raise DataError(f"{path}: stream ended after {filled} of {view.nbytes} data bytes")
                filled += got
            if stream.read(1):
                raise DataError(f"{path}: trailing bytes after {view.nbytes} data bytes")
    except (
        OSError,
        ValueError,
        EOFError,
        SyntaxError,
        TypeError,
        MemoryError,
        tokenize.TokenError,
        pa.ArrowException,
    ) as exc:  # numpy's header parser raises several types on damaged headers
        raise DataError(f"{path}: not a readable zstd-compressed .npy file ({type(exc).__name__}: {exc})") from exc
    return out


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()
