"""A tiny complete factor grid whose every image is known in closed form, for tests.

Image (x, y, size) is an 8 x 8 binary picture, all zeros except a ``size + 1`` by ``size + 1`` block
of ones whose top-left pixel is at row ``2 * y`` and column ``2 * x``. So the image holds
``(size + 1) ** 2`` ones, its top-left lit pixel is (2y, 2x), and every combination of the 4 x 4 x 2
factor classes gives a different picture. Plays the role of the ground-truth datasets of Higgins et
al. (2017, Sec. 4) at a size where metric tests run in milliseconds.
"""

from __future__ import annotations

import numpy as np

from betavae.data.ground_truth import FactorGrid, all_grid_classes

__all__ = ["BlockGrid", "block_image"]

_FACTOR_NAMES = ("x", "y", "size")
_FACTOR_SIZES = (4, 4, 2)


def block_image(x: int, y: int, size: int) -> np.ndarray:
    """The 8 x 8 x 1 uint8 image of factor classes (x, y, size)."""
    img = np.zeros((8, 8, 1), dtype=np.uint8)
    img[2 * y : 2 * y + size + 1, 2 * x : 2 * x + size + 1, 0] = 1
    return img


class BlockGrid(FactorGrid):
    """32 binary 8 x 8 images over factors x (4), y (4), size (2), stored last factor fastest."""

    def __init__(self) -> None:
        classes = all_grid_classes(_FACTOR_SIZES)
        self._images = np.stack([block_image(*map(int, c)) for c in classes])
        self._images.setflags(write=False)
        self.all_classes = classes

    @property
    def factor_names(self) -> tuple[str, ...]:
        return _FACTOR_NAMES

    @property
    def factor_sizes(self) -> tuple[int, ...]:
        return _FACTOR_SIZES

    @property
    def factor_values(self) -> tuple[np.ndarray, ...]:
        return (np.arange(4.0) * 2, np.arange(4.0) * 2, np.array([1.0, 2.0]))

    @property
    def observation_shape(self) -> tuple[int, int, int]:
        return (8, 8, 1)

    @property
    def max_pixel_value(self) -> int:
        return 1

    @property
    def images(self) -> np.ndarray:
        return self._images
