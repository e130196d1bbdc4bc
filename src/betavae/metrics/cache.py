"""Codes for factor classes: the bridge between a representation and the metrics that sample factors.

Every metric draws factor classes first and then asks a *code source* for their codes, so the way the
codes are produced is decided in one place:

- :class:`ObservationEncoder` renders or looks up the images of the factors and encodes them every time.
- :class:`GridCodeCache` serves a complete factor grid (dSprites, 3dshapes, ...), where a factor
  combination names exactly one image. It memoises the code of every grid row, so no image is encoded
  twice however many times the metrics draw it. The reference BetaVAE score alone draws
  (10,000 + 5,000) x 64 x 2 = 1.92 million images, more than dSprites' 737,280, and the whole reference
  suite about 3 million, so on such grids the cache encodes the whole grid once, in order, up front.
- Anything with a ``codes(factors, rng)`` method is itself a code source (e.g. the ground-truth
  baseline, whose codes are the factors) and is used as it is. A source that can compute the BetaVAE
  score's pair features more cheaply than from its codes also offers ``mean_abs_difference``
  (:class:`PairDifferenceSource`; the raw-pixel baseline does, in integers).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Protocol, cast, runtime_checkable

import numpy as np

from betavae.data.ground_truth import GroundTruthData
from betavae.errors import ConfigError, DataError

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_MAX_CACHE_BYTES",
    "CodeSource",
    "GridCodeCache",
    "ObservationEncoder",
    "PairDifferenceSource",
    "Representation",
    "as_code_source",
]

Representation = Callable[[np.ndarray], np.ndarray]
"""uint8 images (n, H, W, C) -> float codes (n, d)."""

DEFAULT_BATCH_SIZE = 8192
DEFAULT_MAX_CACHE_BYTES = 2 * 1024**3


class _CompleteGrid(Protocol):
    """What :class:`GridCodeCache` reads of a complete factor grid (``is_complete_grid``): a
    :class:`~betavae.data.ground_truth.FactorGrid` or a stored dataset that is one."""

    @property
    def num_images(self) -> int: ...

    @property
    def images(self) -> np.ndarray: ...

    def classes_to_index(self, classes: np.ndarray) -> np.ndarray: ...

    def index_to_classes(self, index: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class CodeSource(Protocol):
    """Maps factor classes int (n, k) to codes float (n, d)."""

    def codes(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Codes (n, d) of the observations with factor classes `factors` (n, k)."""
        ...


@runtime_checkable
class PairDifferenceSource(CodeSource, Protocol):
    """A code source that computes Eq. 5 of Higgins et al. (2017) itself, without handing out codes."""

    def mean_abs_difference(self, first: np.ndarray, second: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """z_diff (m, d) float64: the mean over l of |z(first[:, l]) - z(second[:, l])| for factor classes
        `first` and `second` (m, L, k); equal to computing it from :meth:`codes` up to rounding."""
        ...


def _encode(representation: Representation, images: np.ndarray, factors: Callable[[], np.ndarray]) -> np.ndarray:
    """Run the representation on one batch of images, whose factor classes (n, k) `factors()` gives, and
    check its output: float (n, d), finite. A representation with a `condition_factor` column (a conditional
    VAE's, :class:`betavae.evaluation.inference.Representation`) gets that factor's classes of the images."""
    column = getattr(representation, "condition_factor", None)
    if column is None:
        codes = np.asarray(representation(images))
    else:
        codes = np.asarray(cast(Callable[..., np.ndarray], representation)(images, factors()[:, column]))
    n = images.shape[0]
    if codes.ndim != 2 or codes.shape[0] != n or codes.shape[1] < 1:
        raise DataError(f"representation must map {n} images to codes of shape ({n}, d), got shape {codes.shape}")
    if not np.issubdtype(codes.dtype, np.floating):
        codes = codes.astype(np.float64)
    if not np.isfinite(codes).all():
        raise DataError("representation returned non-finite codes (NaN or inf)")
    return codes


def _check_batch_size(batch_size: int) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ConfigError(f"encoding batch_size must be a positive integer, got {batch_size!r}")
    return int(batch_size)


class ObservationEncoder:
    """Code source without memory: images of the requested factors are produced and encoded each call."""

    def __init__(
        self, data: GroundTruthData, representation: Representation, *, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> None:
        self.data = data
        self.representation = representation
        self.batch_size = _check_batch_size(batch_size)
        self.num_encoded = 0  # images passed to the representation so far

    def codes(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Codes (n, d) of freshly drawn observations of `factors` (n, k), encoded in batches."""
        factors = np.asarray(factors)
        if factors.ndim != 2:
            raise DataError(f"factors must be a 2-D array (n, k), got shape {factors.shape}")
        parts = []
        for start in range(0, factors.shape[0], self.batch_size):
            chunk = factors[start : start + self.batch_size]
            images = self.data.sample_observations_from_factors(chunk, rng)
            parts.append(_encode(self.representation, images, partial(np.asarray, chunk)))
            self.num_encoded += images.shape[0]
        if not parts:
            raise DataError("cannot encode an empty set of factors")
        return np.concatenate(parts)


class GridCodeCache:
    """Code source for a complete factor grid that encodes each grid image at most once.

    Codes live in a memo array indexed by grid row (``data.classes_to_index``) with a mask of the rows
    already encoded. A request looks its rows up, encodes only the rows still missing (each once, in
    row order, read from the grid's in-memory ``data.images``) and answers from the memo, so ``rng`` is
    never needed. :meth:`encode_all` fills the memo
    in one ordered pass, which is cheaper than random access once a sample is larger than the grid.

    If the memo would exceed `max_bytes` (e.g. raw-pixel codes of a large grid) the cache gives up
    memoising and encodes every request afresh, exactly like :class:`ObservationEncoder`.
    """

    def __init__(
        self,
        data: GroundTruthData,
        representation: Representation,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_bytes: int = DEFAULT_MAX_CACHE_BYTES,
    ) -> None:
        if not getattr(data, "is_complete_grid", False):
            raise DataError(f"GridCodeCache needs a complete factor grid; {type(data).__name__} is not one")
        self.data = cast(_CompleteGrid, data)
        self.representation = representation
        self.batch_size = _check_batch_size(batch_size)
        self.max_bytes = int(max_bytes)
        self.num_rows = int(self.data.num_images)
        self._memo: np.ndarray | None = None  # (N, d), allocated on the first encoded batch
        self._done = np.zeros(self.num_rows, dtype=bool)
        self.memoising = True
        self.num_encoded = 0  # images passed to the representation so far

    @property
    def num_cached(self) -> int:
        """Number of grid rows whose code is held."""
        return int(self._done.sum()) if self.memoising else 0

    def _store(self, rows: np.ndarray, codes: np.ndarray) -> None:
        if self._memo is None:
            nbytes = self.num_rows * codes.shape[1] * codes.dtype.itemsize
            if nbytes > self.max_bytes:
                self.memoising = False
                return
            self._memo = np.empty((self.num_rows, codes.shape[1]), dtype=codes.dtype)
        if codes.shape[1] != self._memo.shape[1]:
            raise DataError(f"representation changed its code size from {self._memo.shape[1]} to {codes.shape[1]}")
        self._memo[rows] = codes
        self._done[rows] = True

    def _encode_rows(self, rows: np.ndarray) -> np.ndarray:
        """Encode the images of grid rows `rows` batch by batch, memoising them; returns their codes."""
        parts = []
        images_of = self.data.images
        for start in range(0, rows.size, self.batch_size):
            chunk = rows[start : start + self.batch_size]
            codes = _encode(self.representation, images_of[chunk], partial(self.data.index_to_classes, chunk))
            self.num_encoded += chunk.size
            self._store(chunk, codes)
            parts.append(codes)
        return np.concatenate(parts) if parts else np.zeros((0, 0))

    def encode_all(self) -> None:
        """Encode every grid row not yet held, in row order."""
        if not self.memoising:
            return
        for start in range(0, self.num_rows, self.batch_size):
            stop = min(start + self.batch_size, self.num_rows)
            block = self._done[start:stop]
            if block.all():
                continue
            rows = np.arange(start, stop)[~block]
            images = self.data.images[start:stop] if not block.any() else self.data.images[rows]
            codes = _encode(self.representation, images, partial(self.data.index_to_classes, rows))
            self.num_encoded += rows.size
            self._store(rows, codes)
            if not self.memoising:
                return

    def codes(self, factors: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Codes (n, d) of the grid images with classes `factors` (n, k); encodes only unseen rows."""
        rows = np.asarray(self.data.classes_to_index(factors), dtype=np.int64)
        if rows.size == 0:
            raise DataError("cannot encode an empty set of factors")
        if not self.memoising:
            return self._encode_rows(rows)  # memo too large: encode every request, like ObservationEncoder
        missing = np.unique(rows[~self._done[rows]])
        if missing.size:
            fresh = self._encode_rows(missing)
            if not self.memoising:  # gave up on the first batch: answer directly this time
                out = np.empty((rows.size, fresh.shape[1]), dtype=fresh.dtype)
                position = np.searchsorted(missing, rows)
                out[:] = fresh[position]
                return out
        assert self._memo is not None
        return self._memo[rows]


def as_code_source(
    data: GroundTruthData, representation: Representation | CodeSource, *, batch_size: int = DEFAULT_BATCH_SIZE
) -> CodeSource:
    """`representation` itself if it already maps factors to codes, else an uncached ObservationEncoder."""
    if isinstance(representation, CodeSource):
        return representation
    if not callable(representation):
        raise DataError(f"representation must be callable images -> codes, got {type(representation).__name__}")
    return ObservationEncoder(data, representation, batch_size=batch_size)


def draw_codes(
    data: GroundTruthData, representation: Representation | CodeSource, num_points: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, int]:
    """A fixed sample for the metrics that are functions of one: (codes (n, d), factors (n, k), seed).

    Factors, observations and the classifier seed come from independent streams of `rng` (see
    :func:`betavae.metrics.utils.sub_rngs`).
    """
    from betavae.metrics.utils import sub_rngs

    source = as_code_source(data, representation)
    sample_rng, obs_rng, seed = sub_rngs(rng)
    factors = data.sample_factors(num_points, sample_rng)
    return source.codes(factors, obs_rng), factors, seed
