"""dSprites drawn procedurally: 3 shapes x 6 scales x 40 orientations x 32 x 32 positions, binary 64 x 64.

The dSprites dataset (Matthey et al. 2017) is the benchmark of Higgins et al. (2017, Sec. 4.2): every
combination of its five factors appears exactly once, 737,280 images in all, ordered with the last
factor (posY) varying fastest. This module draws the same grid from geometry, so the dataset needs
no download.

Geometry. A pixel (row r, column c) is white when its centre (c + 0.5, r + 0.5) lies inside the
shape. The shape is centred at (16 + 32 * posX, 16 + 32 * posY) pixels, with posX, posY =
linspace(0, 1, 32); it is scaled by scale in linspace(0.5, 1, 6) and turned counter-clockwise on
screen by orientation in linspace(0, 2 pi, 40). At scale 1:

- square: half-side 9.6 px;
- ellipse: semi-axes 12.76 px (horizontal at orientation 0) and 7.2 px;
- heart, point down at orientation 0: two discs of radius 5.25 centred 4.5 px either side of the
  axis and 4.0 px above the centre, joined to a tip 9.0 px below the centre by the tangents from
  the tip to the discs.

These numbers were fitted to twelve images of the real dataset (tests/fixtures): the ellipse and
square reproduce every real pixel, the heart all but one to four pixels per image.

Speed. Position steps are 32/31 px, so every pixel centre of every position lies on one lattice with
spacing 1/31 px relative to the shape centre. Each of the 720 (shape, scale, orientation) sprites is
evaluated once on that lattice, and the 1,024 positions are strided views into it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from betavae.data.ground_truth import FactorGrid, all_grid_classes, checked_classes
from betavae.data.storage import PackedImages, write_dataset
from betavae.errors import DataError

__all__ = [
    "FACTOR_NAMES",
    "FACTOR_SIZES",
    "FACTOR_VALUES",
    "NUM_IMAGES",
    "DSprites",
    "render",
    "all_classes",
    "render_all_packed",
    "render_sprites_packed",
    "write_procedural_dsprites",
]

FACTOR_NAMES: tuple[str, ...] = ("shape", "scale", "orientation", "posX", "posY")
FACTOR_SIZES: tuple[int, ...] = (3, 6, 40, 32, 32)
FACTOR_VALUES: tuple[np.ndarray, ...] = (
    np.array([1.0, 2.0, 3.0]),  # square, ellipse, heart (the dataset's own codes)
    np.linspace(0.5, 1.0, 6),
    np.linspace(0.0, 2.0 * np.pi, 40),
    np.linspace(0.0, 1.0, 32),
    np.linspace(0.0, 1.0, 32),
)
NUM_IMAGES = math.prod(FACTOR_SIZES)
NUM_SPRITES = FACTOR_SIZES[0] * FACTOR_SIZES[1] * FACTOR_SIZES[2]
IMAGE_SIZE = 64

SQUARE, ELLIPSE, HEART = 0, 1, 2
SQUARE_HALF_SIDE = 9.6
ELLIPSE_SEMI_AXES = (12.76, 7.2)
HEART_LOBE_OFFSET = (4.5, 4.0)  # disc centres at (+-4.5, +4.0), y up
HEART_LOBE_RADIUS = 5.25
HEART_TIP_DEPTH = 9.0

# Lattice coordinates. With the pixel pitch divided into 31, the centre of pixel column c for
# position class p sits at m = 31 c - 32 p + 992 (an integer in 0..2945), and its offset from the
# shape centre is (m - 1472.5) / 31 px. The same holds for rows.
_STEPS = 31
_LATTICE_ORIGIN = 992
_LATTICE_SIZE = _STEPS * (IMAGE_SIZE - 1) + _LATTICE_ORIGIN + 1
_LATTICE_CENTRE = 1472.5


def _lattice_offset(m: np.ndarray) -> np.ndarray:
    """Offset (px) of lattice points ``m`` from the shape centre; used by every rendering path."""
    return (m - _LATTICE_CENTRE) / _STEPS


def _rotation(orientation: int) -> tuple[float, float]:
    """cos and sin of orientation class ``orientation``, rounded so that 2 pi is exactly 0."""
    theta = FACTOR_VALUES[2][orientation]
    return float(np.round(np.cos(theta), 12)), float(np.round(np.sin(theta), 12))


def _heart_tangent() -> tuple[float, float, float, float]:
    """Direction (ex, ey) of the tangent from the tip to the right lobe, and the tangent point (tx, ty)."""
    cu, cv = HEART_LOBE_OFFSET
    dx, dy = cu, cv + HEART_TIP_DEPTH
    dist = math.hypot(dx, dy)
    angle = math.atan2(dy, dx) - math.asin(HEART_LOBE_RADIUS / dist)
    ex, ey = math.cos(angle), math.sin(angle)
    reach = math.sqrt(dist * dist - HEART_LOBE_RADIUS**2)
    return ex, ey, ex * reach, -HEART_TIP_DEPTH + ey * reach


_HEART_EX, _HEART_EY, _HEART_TX, _HEART_TY = _heart_tangent()


def _inside(shape: int, scale: float, cos: float, sin: float, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """True where the point (dx, dy) (px from the centre, y down) lies inside the sprite.

    ``dx`` and ``dy`` broadcast against each other. Every rendering path calls this same sequence of
    element-wise operations, so they agree bit for bit.
    """
    up = -dy
    u = (dx * cos + up * sin) / scale  # along the shape's own x axis
    v = (up * cos - dx * sin) / scale  # along the shape's own y axis (up at orientation 0)
    if shape == SQUARE:
        return (np.abs(u) <= SQUARE_HALF_SIDE) & (np.abs(v) <= SQUARE_HALF_SIDE)
    if shape == ELLIPSE:
        a, b = ELLIPSE_SEMI_AXES
        ua = u / a
        vb = v / b
        return ua * ua + vb * vb <= 1.0
    if shape == HEART:
        cu, cv = HEART_LOBE_OFFSET
        au = np.abs(u)
        du = au - cu
        dv = v - cv
        lobe = du * du + dv * dv <= HEART_LOBE_RADIUS * HEART_LOBE_RADIUS
        # the body: tip, tangent points and lobe centres bound a convex pentagon
        body = (_HEART_EX * (v + HEART_TIP_DEPTH) - _HEART_EY * au >= 0.0) & (
            (cu - _HEART_TX) * (v - _HEART_TY) - (cv - _HEART_TY) * (au - _HEART_TX) >= 0.0
        )
        body &= (v <= cv) & (v >= -HEART_TIP_DEPTH)
        return lobe | body
    raise DataError(f"shape class must be 0 (square), 1 (ellipse) or 2 (heart), got {shape}")


def _extent(shape: int, scale: float) -> float:
    """Radius (px) of a disc around the centre that holds the whole sprite."""
    cu, cv = HEART_LOBE_OFFSET
    radius = {
        SQUARE: SQUARE_HALF_SIDE * math.sqrt(2.0),
        ELLIPSE: max(ELLIPSE_SEMI_AXES),
        HEART: max(math.hypot(cu, cv) + HEART_LOBE_RADIUS, HEART_TIP_DEPTH),
    }[shape]
    return radius * scale + 0.5


def _check_classes(classes: np.ndarray) -> np.ndarray:
    return checked_classes(classes, FACTOR_NAMES, FACTOR_SIZES, what="dSprites classes")


class _SpriteLattice:
    """A reusable (2946, 2946) boolean lattice; one sprite at a time is drawn into it."""

    def __init__(self) -> None:
        self.grid = np.zeros((_LATTICE_SIZE, _LATTICE_SIZE), dtype=bool)
        # views[px, py, r, c] = grid[31 r - 32 py + 992, 31 c - 32 px + 992]
        row = self.grid.strides[0]
        self.views = np.lib.stride_tricks.as_strided(
            self.grid[_LATTICE_ORIGIN:, _LATTICE_ORIGIN:],
            shape=(32, 32, IMAGE_SIZE, IMAGE_SIZE),
            strides=(-32, -32 * row, _STEPS * row, _STEPS),
            writeable=False,
        )

    def draw(self, shape: int, scale_class: int, orientation: int) -> slice:
        """Draw one sprite; returns the lattice window it may occupy (to clear afterwards)."""
        scale = float(FACTOR_VALUES[1][scale_class])
        cos, sin = _rotation(orientation)
        reach = _extent(shape, scale) * _STEPS
        lo = max(0, math.floor(_LATTICE_CENTRE - reach))
        hi = min(_LATTICE_SIZE, math.ceil(_LATTICE_CENTRE + reach) + 1)
        m = np.arange(lo, hi, dtype=np.int64)
        offset = _lattice_offset(m)
        window = slice(lo, hi)
        self.grid[window, window] = _inside(shape, scale, cos, sin, offset[None, :], offset[:, None])
        return window

    def clear(self, window: slice) -> None:
        self.grid[window, window] = False


def _sprite_packed(lattice: _SpriteLattice, shape: int, scale_class: int, orientation: int) -> np.ndarray:
    """All 1,024 positions of one sprite, bit-packed: uint8 (1024, 512) in (posX, posY) order."""
    window = lattice.draw(shape, scale_class, orientation)
    try:
        # packbits reads a contiguous copy several times faster than the strided view
        packed = np.packbits(np.ascontiguousarray(lattice.views), axis=-1)  # (32, 32, 64, 8)
    finally:
        lattice.clear(window)
    return packed.reshape(32 * 32, IMAGE_SIZE * IMAGE_SIZE // 8)


def render(classes: np.ndarray) -> np.ndarray:
    """Draw dSprites images: uint8 (n, 64, 64) in {0, 1} for classes (n, 5) ordered shape, scale,
    orientation, posX, posY (class indices; shape 0 = square, 1 = ellipse, 2 = heart)."""
    arr = _check_classes(classes)
    out = np.zeros((arr.shape[0], IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    if arr.shape[0] == 0:
        return out
    sprite = (arr[:, 0] * FACTOR_SIZES[1] + arr[:, 1]) * FACTOR_SIZES[2] + arr[:, 2]
    order = np.argsort(sprite, kind="stable")
    bounds = np.flatnonzero(np.diff(sprite[order])) + 1
    lattice: _SpriteLattice | None = None
    pix = np.arange(IMAGE_SIZE, dtype=np.int64)
    for rows in np.split(order, bounds):
        shape, scale_class, orientation = (int(v) for v in arr[rows[0], :3])
        px, py = arr[rows, 3], arr[rows, 4]
        if len(rows) >= 48:  # many positions: draw the sprite once on the lattice and look them up
            lattice = lattice or _SpriteLattice()
            window = lattice.draw(shape, scale_class, orientation)
            out[rows] = lattice.views[px, py]
            lattice.clear(window)
        else:  # few positions: evaluate the pixel centres of each image directly
            scale = float(FACTOR_VALUES[1][scale_class])
            cos, sin = _rotation(orientation)
            dx = _lattice_offset(_STEPS * pix[None, None, :] - 32 * px[:, None, None] + _LATTICE_ORIGIN)
            dy = _lattice_offset(_STEPS * pix[None, :, None] - 32 * py[:, None, None] + _LATTICE_ORIGIN)
            out[rows] = _inside(shape, scale, cos, sin, dx, dy)
    return out


def render_sprites_packed(sprites: Sequence[int], lattice: _SpriteLattice | None = None) -> np.ndarray:
    """The 1,024 images of each sprite index (shape * 240 + scale * 40 + orientation), bit-packed:
    uint8 (len(sprites) * 1024, 512), sprite after sprite, each in (posX, posY) order."""
    lattice = lattice or _SpriteLattice()
    out = np.empty((len(sprites) * 1024, IMAGE_SIZE * IMAGE_SIZE // 8), dtype=np.uint8)
    for i, sprite in enumerate(sprites):
        if not 0 <= sprite < NUM_SPRITES:
            raise DataError(f"sprite index must lie in 0..{NUM_SPRITES - 1}, got {sprite}")
        shape, rest = divmod(int(sprite), FACTOR_SIZES[1] * FACTOR_SIZES[2])
        scale_class, orientation = divmod(rest, FACTOR_SIZES[2])
        out[i * 1024 : (i + 1) * 1024] = _sprite_packed(lattice, shape, scale_class, orientation)
    return out


def render_all_packed(workers: int = 1) -> np.ndarray:
    """The whole grid, 737,280 images in the official order, bit-packed: uint8 (737280, 512).

    ``workers`` threads share the 720 sprites (NumPy releases the GIL in its inner loops). One is the
    default: on a busy 2-core machine a second thread made the render slower, not faster (see
    `python -m benchmarks`, section data).
    """
    if workers < 1:
        raise DataError(f"workers must be >= 1, got {workers}")
    out = np.empty((NUM_IMAGES, IMAGE_SIZE * IMAGE_SIZE // 8), dtype=np.uint8)
    batch = 8

    def work(first: int) -> None:
        lattice = _SpriteLattice()
        for start in range(first * batch, NUM_SPRITES, workers * batch):
            sprites = range(start, min(start + batch, NUM_SPRITES))
            out[start * 1024 : sprites[-1] * 1024 + 1024] = render_sprites_packed(sprites, lattice)

    if workers == 1:
        work(0)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for future in [pool.submit(work, w) for w in range(workers)]:
                future.result()
    return out


def classes_from_values(latents_values: np.ndarray) -> np.ndarray:
    """Class indices (n, 5) from the official ``latents_values`` (n, 6: color, shape, scale, orientation,
    posX, posY): shape 1..3, scale 0.5..1.0 in steps of 0.1, orientation linspace(0, 2 pi, 40), positions
    linspace(0, 1, 32)."""
    lat = np.asarray(latents_values, dtype=np.float64)
    if lat.ndim != 2 or lat.shape[1] != 6:
        raise ValueError(f"latents_values must have shape (n, 6), got {lat.shape}")
    return np.stack(
        [
            np.rint(lat[:, 1] - 1),
            np.rint((lat[:, 2] - 0.5) / 0.1),
            np.rint(lat[:, 3] / (2 * np.pi / 39)),
            np.rint(lat[:, 4] * 31),
            np.rint(lat[:, 5] * 31),
        ],
        axis=1,
    ).astype(np.int64)


def all_classes() -> np.ndarray:
    """Factor classes of every image in the official order: int64 (737280, 5), posY fastest."""
    return all_grid_classes(FACTOR_SIZES)


def write_procedural_dsprites(
    out_dir: Path | str,
    *,
    workers: int = 1,
    test_rows: np.ndarray | None = None,
    split: Mapping[str, Any] | None = None,
) -> Path:
    """Render the full dSprites grid and store it as a dataset directory (see ``storage``), holding
    `test_rows` out as its test split (how they were chosen: `split`); returns its path."""
    bits = render_all_packed(workers=workers)
    return write_dataset(
        out_dir,
        name=Path(out_dir).name,
        kind="dsprites",
        images=PackedImages(bits, (IMAGE_SIZE, IMAGE_SIZE, 1)),
        factor_names=FACTOR_NAMES,
        factor_sizes=FACTOR_SIZES,
        factor_values=FACTOR_VALUES,
        factor_classes=all_classes(),
        binary=True,
        source="procedural",
        extra={"renderer": "betavae.data.dsprites", "reference": "Matthey et al. 2017, dSprites"},
        test_rows=test_rows,
        split=split,
    )


class DSprites(FactorGrid):
    """Procedural dSprites as ground-truth data. Observations are drawn on demand; ``images`` renders
    the full grid (3 GB) the first time it is asked for."""

    def __init__(self) -> None:
        self._images: np.ndarray | None = None

    @property
    def factor_names(self) -> tuple[str, ...]:
        return FACTOR_NAMES

    @property
    def factor_sizes(self) -> tuple[int, ...]:
        return FACTOR_SIZES

    @property
    def factor_values(self) -> tuple[np.ndarray, ...]:
        return FACTOR_VALUES

    @property
    def observation_shape(self) -> tuple[int, int, int]:
        return (IMAGE_SIZE, IMAGE_SIZE, 1)

    @property
    def max_pixel_value(self) -> int:
        return 1

    @property
    def images(self) -> np.ndarray:
        if self._images is None:
            bits = render_all_packed()
            self._images = PackedImages(bits, self.observation_shape).unpack()
        return self._images

    def sample_observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Draw the images for ``factors`` (n, 5); deterministic, so ``rng`` is unused."""
        return render(self.check_factors(factors))[..., None]
