"""Pixel statistics of stored images, computed in row chunks (packed binary images never unpacked)."""

from __future__ import annotations

import math

import numpy as np

from betavae.data.storage.layout import ROW_CHUNK, PackedImages


def foreground_fractions(images: np.ndarray | PackedImages, shape: tuple[int, ...], binary: bool) -> np.ndarray:
    """Per-image foreground fraction: mean pixel value over ``max_pixel_value`` (for binary images,
    the share of pixels that are 1). float64 (N,)."""
    size = math.prod(shape)
    if isinstance(images, PackedImages):
        bits = images.bits
        out = np.empty(bits.shape[0], dtype=np.float64)
        for s in range(0, bits.shape[0], ROW_CHUNK):
            out[s : s + ROW_CHUNK] = np.bitwise_count(bits[s : s + ROW_CHUNK]).sum(axis=1, dtype=np.int64)
        return out / size
    flat = images.reshape(images.shape[0], -1)
    out = np.empty(flat.shape[0], dtype=np.float64)
    for s in range(0, flat.shape[0], ROW_CHUNK):
        out[s : s + ROW_CHUNK] = flat[s : s + ROW_CHUNK].sum(axis=1, dtype=np.int64)
    return out / (size * (1 if binary else 255))
