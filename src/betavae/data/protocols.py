"""What the library's functions ask of a dataset, as typing protocols.

:class:`~betavae.data.ground_truth.GroundTruthData` (an abstract base class) is what metrics need:
factors that can be sampled and rendered or looked up. Training, reconstruction and the pixel
baselines only read resident images, described by :class:`ImageSet`; any object with these
attributes qualifies (a stored dataset, a procedural grid, a test's in-memory images).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class ImageSet(Protocol):
    """Images held in memory: uint8 (N, H, W, C) with values in 0..max_pixel_value."""

    @property
    def images(self) -> np.ndarray: ...

    @property
    def max_pixel_value(self) -> int: ...

    @property
    def observation_shape(self) -> tuple[int, int, int]: ...
