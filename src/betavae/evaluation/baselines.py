"""Reference representations for the disentanglement tables (Higgins et al. 2017, Fig. 5, left).

- :func:`ground_truth`: the generative factors themselves (class index, or one-hot per factor). It maps
  factor classes straight to codes, so it is a code source (``codes(factors, rng)``) rather than an
  image encoder: images alone do not always identify their factors (a square looks the same at
  rotations 90 degrees apart).
- :func:`raw_pixels`: the flattened image, scaled to [0, 1]; a code source that computes the BetaVAE
  score's pair features (Eq. 5) on the images' integers.
- :func:`pca`: the first 10 principal components of the pixels, whitened (scikit-learn PCA); the share
  of the pixel variance they explain is kept as ``explained_variance`` (Higgins et al. report 60.8 %).
- :func:`ica`: 10 independent components (scikit-learn FastICA on whitened pixels).
- :func:`ica_pairwise`: Higgins et al. 2017, Appendix A.3: one FastICA model per pair of object
  identities (the values of the `identity_factor`, shape on 2D shapes), each fitted on the images of
  that pair only; the table scores every model and averages the scores.

The projections are fitted on `num_samples` images drawn with the `rng` passed in. Untrained and
trained VAE rows come from checkpoints through the evaluation stage.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from sklearn.decomposition import PCA, FastICA

from betavae.config.sections import BASELINES
from betavae.data.ground_truth import GroundTruthData
from betavae.errors import ConfigError, DataError
from betavae.metrics.cache import DEFAULT_BATCH_SIZE, ObservationEncoder

__all__ = [
    "BASELINES",
    "FactorCodes",
    "FittedProjection",
    "PixelCodes",
    "RawPixelSource",
    "build",
    "ground_truth",
    "ica",
    "ica_pairwise",
    "pca",
    "raw_pixels",
]

ENCODINGS = ("index", "onehot")


class FactorCodes:
    """Code source whose codes are the factor classes: float index (n, k) or concatenated one-hots."""

    def __init__(self, factor_sizes: tuple[int, ...], encoding: str = "index") -> None:
        if encoding not in ENCODINGS:
            raise ConfigError(f"ground-truth encoding must be one of {', '.join(ENCODINGS)}; got {encoding!r}")
        self.factor_sizes = tuple(int(s) for s in factor_sizes)
        self.encoding = encoding
        self._offsets = np.concatenate([[0], np.cumsum(self.factor_sizes)[:-1]]).astype(np.int64)

    def codes(self, factors: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Codes of factor classes (n, k): (n, k) floats, or (n, sum(factor_sizes)) one-hots."""
        factors = np.asarray(factors, dtype=np.int64)
        if factors.ndim != 2 or factors.shape[1] != len(self.factor_sizes):
            raise DataError(f"factors must have shape (n, {len(self.factor_sizes)}), got {factors.shape}")
        bad = (factors < 0) | (factors >= np.asarray(self.factor_sizes))
        if bad.any():
            row, col = (int(v) for v in np.argwhere(bad)[0])
            raise DataError(
                f"factor {col} class {factors[row, col]} in row {row} is outside 0..{self.factor_sizes[col] - 1}"
            )
        if self.encoding == "index":
            return factors.astype(np.float64)
        out = np.zeros((factors.shape[0], sum(self.factor_sizes)))
        out[np.arange(factors.shape[0])[:, None], factors + self._offsets] = 1.0
        return out


def ground_truth(data: GroundTruthData, encoding: str = "index") -> FactorCodes:
    """The perfect representation of `data`'s factors (a code source, see :class:`FactorCodes`)."""
    return FactorCodes(tuple(data.factor_sizes), encoding)


class PixelCodes:
    """Representation images (n, H, W, C) uint8 -> flattened pixels (n, H*W*C) float32 in [0, 1]."""

    def __init__(self, max_pixel_value: int) -> None:
        self.max_pixel_value = int(max_pixel_value)

    def __call__(self, images: np.ndarray) -> np.ndarray:
        pixels = images.reshape(images.shape[0], -1).astype(np.float32)
        if self.max_pixel_value != 1:  # binary images are already in [0, 1]: x / 1 is x
            pixels /= self.max_pixel_value
        return pixels


class RawPixelSource:
    """The raw-pixel representation of a dataset's images as a code source (and as a representation).

    Its codes are :class:`PixelCodes`: 4,096 floats per dSprites image. The BetaVAE score builds each
    of its points from L = 64 pairs (Higgins et al. 2017, Eq. 5), so scoring raw pixels by the paper's
    protocol means 1.28 million such codes per classifier seed, which in float64 is mostly memory
    traffic. :meth:`mean_abs_difference` computes Eq. 5 on the images' integers instead: |x1 - x2| in
    uint8, its sum over the L pairs in uint32 (both exact), then one division by L x max_pixel_value.
    On binary images (max_pixel_value 1) that is bit for bit what the float path computes; otherwise it
    differs from it by the float32 rounding of the scaled pixels (about 1e-7 relative), in its favour.
    """

    def __init__(self, data: GroundTruthData, *, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self.data = data
        self.pixels = PixelCodes(int(data.max_pixel_value))
        self._encoder = ObservationEncoder(data, self.pixels, batch_size=batch_size)

    def __call__(self, images: np.ndarray) -> np.ndarray:
        return self.pixels(images)

    def codes(self, factors: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Scaled pixels (n, H*W*C) float32 of the images with factor classes `factors` (n, k)."""
        # rng=None suits only datasets that never draw with it (complete grids)
        return self._encoder.codes(factors, rng)  # type: ignore[arg-type]

    def _images(self, factors: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        """uint8 images (n, H*W*C) of `factors` (n, k), drawn in the encoder's batches."""
        step = self._encoder.batch_size
        parts = [  # rng=None: as in codes
            self.data.sample_observations_from_factors(factors[start : start + step], rng)  # type: ignore[arg-type]
            for start in range(0, factors.shape[0], step)
        ]
        images = np.concatenate(parts) if len(parts) > 1 else parts[0]
        if images.dtype != np.uint8:
            raise DataError(f"raw-pixel codes need uint8 images, got {images.dtype}")
        return images.reshape(images.shape[0], -1)

    def mean_abs_difference(
        self, first: np.ndarray, second: np.ndarray, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        """Eq. 5 for raw pixels: mean over l of |x(first[:, l]) - x(second[:, l])| / max_pixel_value,
        (m, H*W*C) float64, for factor classes `first` and `second` (m, L, k)."""
        first, second = np.asarray(first), np.asarray(second)
        if first.ndim != 3 or first.shape != second.shape or first.shape[0] * first.shape[1] == 0:
            raise DataError(
                f"pair factors must be two equal non-empty (m, L, k) arrays, got {first.shape} and {second.shape}"
            )
        m, pairs, k = first.shape
        images = self._images(np.concatenate([first.reshape(-1, k), second.reshape(-1, k)]), rng)
        x1, x2 = images[: m * pairs].reshape(m, pairs, -1), images[m * pairs :].reshape(m, pairs, -1)
        difference = np.maximum(x1, x2)
        difference -= np.minimum(x1, x2)  # |x1 - x2|, exact in uint8
        total = difference.sum(axis=1, dtype=np.uint32)  # exact: at most 255 x L per entry
        return total / float(pairs * self.pixels.max_pixel_value)


def raw_pixels(data: GroundTruthData) -> RawPixelSource:
    """The raw-pixel representation of `data`'s images (a code source, see :class:`RawPixelSource`)."""
    return RawPixelSource(data)


class FittedProjection:
    """Representation images -> a fitted linear projection of their pixels (n, num_components)."""

    def __init__(
        self,
        pixels: PixelCodes | RawPixelSource,
        steps: list[Any],
        *,
        explained_variance: float | None = None,
        fitted_on: str = "",
    ) -> None:
        self.pixels = pixels
        self.steps = steps
        self.explained_variance = explained_variance  # share of the pixel variance kept (PCA)
        self.fitted_on = fitted_on  # which images the projection was fitted on, for the record

    def __call__(self, images: np.ndarray) -> np.ndarray:
        x = self.pixels(images)
        for step in self.steps:
            x = step.transform(x)
        return np.asarray(x, dtype=np.float64)


def _fit_sample(
    data: GroundTruthData,
    rng: np.random.Generator,
    num_samples: int,
    num_components: int,
    restrict: tuple[int, tuple[int, ...]] | None = None,
) -> tuple[RawPixelSource, np.ndarray]:
    """Check the settings and draw the fitting sample: the pixel map and pixels (num_samples, H*W*C).

    `restrict` = (factor column, allowed classes) draws that factor among the allowed classes only.
    """
    if isinstance(num_components, bool) or not isinstance(num_components, int) or num_components < 1:
        raise ConfigError(f"num_components must be a positive integer, got {num_components!r}")
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples <= num_components:
        raise ConfigError(f"num_samples must be an integer > num_components ({num_components}), got {num_samples!r}")
    pixels = raw_pixels(data)
    if restrict is None:
        _, images = data.sample(num_samples, rng)
    else:
        column, allowed = restrict
        factors = data.sample_factors(num_samples, rng)
        factors[:, column] = rng.choice(np.asarray(allowed, dtype=np.int64), size=num_samples)
        images = data.sample_observations_from_factors(factors, rng)
    x = pixels(images)
    if num_components > x.shape[1]:
        raise ConfigError(f"num_components {num_components} exceeds the {x.shape[1]} pixels of an image")
    return pixels, x


def pca(
    data: GroundTruthData, rng: np.random.Generator, *, num_components: int = 10, num_samples: int = 10000
) -> FittedProjection:
    """Whitened principal components of the pixels, fitted on `num_samples` images drawn with `rng`."""
    pixels, x = _fit_sample(data, rng, num_samples, num_components)
    model = PCA(
        n_components=num_components, whiten=True, svd_solver="randomized", random_state=int(rng.integers(2**31 - 1))
    )
    model.fit(x)
    return FittedProjection(
        pixels,
        [model],
        explained_variance=float(model.explained_variance_ratio_.sum()),
        fitted_on=f"{num_samples} images",
    )


def ica(
    data: GroundTruthData,
    rng: np.random.Generator,
    *,
    num_components: int = 10,
    num_samples: int = 10000,
    max_iter: int = 1000,
    restrict: tuple[int, tuple[int, ...]] | None = None,
) -> FittedProjection:
    """FastICA (Hyvarinen & Oja 2000) components of the pixels, fitted on `num_samples` images.

    The whitening step is a randomised PCA to `num_components` whitened components, the same reduction
    FastICA performs itself, done this way because an exact decomposition of 4,096-pixel images is slow;
    FastICA then finds the rotation of those components that maximises non-Gaussianity.
    """
    pixels, x = _fit_sample(data, rng, num_samples, num_components, restrict)
    whiten = PCA(
        n_components=num_components, whiten=True, svd_solver="randomized", random_state=int(rng.integers(2**31 - 1))
    )
    white = whiten.fit_transform(x)
    rotation = FastICA(whiten=False, max_iter=max_iter, random_state=int(rng.integers(2**31 - 1)))
    rotation.fit(white)
    where = "" if restrict is None else f" with {data.factor_names[restrict[0]]} in {list(restrict[1])}"
    return FittedProjection(pixels, [whiten, rotation], fitted_on=f"{num_samples} images{where}")


def ica_pairwise(
    data: GroundTruthData,
    rng: np.random.Generator,
    *,
    identity_factor: str = "shape",
    num_components: int = 10,
    num_samples: int = 10000,
    max_iter: int = 1000,
) -> list[FittedProjection]:
    """Higgins et al. 2017, A.3: one FastICA model per pair of classes of `identity_factor`.

    A dataset without that factor (or with a single identity) gets one model fitted on all its images.
    """
    names = tuple(data.factor_names)
    if identity_factor not in names or data.factor_sizes[names.index(identity_factor)] < 2:
        return [ica(data, rng, num_components=num_components, num_samples=num_samples, max_iter=max_iter)]
    column = names.index(identity_factor)
    pairs = itertools.combinations(range(data.factor_sizes[column]), 2)
    return [
        ica(
            data,
            rng,
            num_components=num_components,
            num_samples=num_samples,
            max_iter=max_iter,
            restrict=(column, pair),
        )
        for pair in pairs
    ]


def build(name: str, data: GroundTruthData, rng: np.random.Generator, **kwargs: Any) -> Any:
    """The baseline representation `name` (one of BASELINES) for `data`."""
    if name == "ground_truth":
        return ground_truth(data, **kwargs)
    if name == "raw_pixels":
        return raw_pixels(data, **kwargs)
    if name == "pca":
        return pca(data, rng, **kwargs)
    if name == "ica":
        return ica(data, rng, **kwargs)
    raise ConfigError(f"unknown baseline {name!r}; expected one of {', '.join(BASELINES)}")
