"""The BetaVAE disentanglement metric (Higgins et al. 2017, Sec. 3 and Eq. 5).

One training point is made by choosing a factor y uniformly, drawing `batch_size` pairs of factor
combinations that agree on factor y (and are independent otherwise), encoding both members of every
pair and averaging the absolute code difference over the batch:

    z_diff = 1/L sum_l |z1_l - z2_l|                                   (Higgins et al. 2017, Eq. 5)

A low-capacity linear classifier predicts y from z_diff; the score is its accuracy. In a disentangled
representation the latent that encodes factor y has z_diff near zero, which a linear classifier reads
easily. Defaults follow the reference study of Locatello et al. (2019): L = 64, 10,000 training and
5,000 evaluation points, scikit-learn logistic regression over every factor (``protocol:
locatello2019``). ``protocol: higgins2017`` runs the original paper's process instead (a subset of the
factors as labels, a linear softmax classifier trained by Adagrad): see :mod:`betavae.metrics.higgins2017`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np
from sklearn.linear_model import LogisticRegression

from betavae.data.ground_truth import GroundTruthData
from betavae.errors import ConfigError, DataError
from betavae.metrics import higgins2017
from betavae.metrics.cache import (
    CodeSource,
    PairDifferenceSource,
    Representation,
    as_code_source,
)
from betavae.metrics.sampling import fixed_factor_chunks
from betavae.metrics.settings import MetricSettings, setting
from betavae.metrics.utils import classifier_threads, sub_rngs

__all__ = ["Params", "compute", "describe", "num_draws", "score_features", "z_diff_features"]

NAME = "beta_vae"
PROTOCOLS = ("locatello2019", "higgins2017")


@dataclass(frozen=True)
class Params(MetricSettings):
    """Settings of the BetaVAE score's `locatello2019` protocol; defaults are the reference study's."""

    metric: ClassVar[str] = NAME

    protocol: str = setting("locatello2019", choices=("locatello2019",))
    batch_size: int = setting(64, minimum=1)
    num_train: int = setting(10000, minimum=1)
    num_eval: int = setting(5000, minimum=1)
    classifier_max_iter: int = setting(1000, minimum=1)

    def draws(self) -> int:
        """Number of observations `compute` encodes with these settings."""
        return (self.num_train + self.num_eval) * self.batch_size * 2


def num_draws(**params: Any) -> int:
    """Number of observations `compute` encodes with these settings (either protocol)."""
    if _protocol(params) == "higgins2017":
        return higgins2017.num_draws(**params)
    return Params.parse(params).draws()


def z_diff_features(data: GroundTruthData, source: CodeSource, num_points: int, batch_size: int,
                    sample_rng: np.random.Generator, obs_rng: np.random.Generator,
                    choices: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """`num_points` training points of Eq. 5: features z_diff (n, d) and the label of the fixed factor (n,).

    The fixed factor is drawn uniformly among the factor columns `choices` (default: all) and the label
    is its position in `choices`; every other factor is drawn independently for both images of a pair.
    A :class:`PairDifferenceSource` computes the features itself.
    """
    k = data.num_factors
    features: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    for label, fixed, (first, second) in fixed_factor_chunks(data, num_points, batch_size, 2, sample_rng, choices):
        m = fixed.shape[0]
        point = np.arange(m)
        second[point, :, fixed] = first[point, :, fixed]  # each pair agrees on the fixed factor
        if isinstance(source, PairDifferenceSource):
            features.append(np.asarray(source.mean_abs_difference(first, second, obs_rng), dtype=np.float64))
        else:
            both = np.concatenate([first.reshape(-1, k), second.reshape(-1, k)])
            codes = np.asarray(source.codes(both, obs_rng), dtype=np.float64)  # (2 m L, d)
            z1 = codes[: m * batch_size].reshape(m, batch_size, -1)
            z2 = codes[m * batch_size:].reshape(m, batch_size, -1)
            features.append(np.abs(z1 - z2).mean(axis=1))  # (m, d), Eq. 5
        labels.append(label)
    return np.concatenate(features), np.concatenate(labels)


def score_features(train_x: np.ndarray, train_y: np.ndarray, eval_x: np.ndarray, eval_y: np.ndarray, *,
                   seed: int = 0, max_iter: int = 1000) -> dict[str, float]:
    """Fit the linear classifier on (train_x, train_y) and report train and evaluation accuracy."""
    if np.unique(train_y).size < 2:
        # A single class cannot be fitted; the classifier that always answers it is the only one.
        only = train_y[0]
        return {"train_accuracy": float(np.mean(train_y == only)), "eval_accuracy": float(np.mean(eval_y == only))}
    clf = LogisticRegression(max_iter=max_iter, random_state=seed)
    with classifier_threads():
        clf.fit(train_x, train_y)
        return {
            "train_accuracy": float(np.mean(clf.predict(train_x) == train_y)),
            "eval_accuracy": float(np.mean(clf.predict(eval_x) == eval_y)),
        }


def compute(data: GroundTruthData, representation: Representation | CodeSource, rng: np.random.Generator,
            **params: Any) -> dict[str, float]:
    """BetaVAE score of `representation` on `data`: {"train_accuracy", "eval_accuracy"} in [0, 1].

    `representation` maps uint8 images (n, H, W, C) to codes (n, d), or is a code source mapping
    factor classes to codes (see :mod:`betavae.metrics.cache`). `rng` fixes every sample drawn.
    """
    if _protocol(params) == "higgins2017":
        return higgins2017.compute(data, representation, rng, **params)
    p = Params.parse(params)
    if data.num_factors < 2:
        raise DataError(f"the BetaVAE score needs at least 2 factors to classify, got {data.num_factors}")
    source = as_code_source(data, representation)
    sample_rng, obs_rng, seed = sub_rngs(rng)
    train_x, train_y = z_diff_features(data, source, p.num_train, p.batch_size, sample_rng, obs_rng)
    eval_x, eval_y = z_diff_features(data, source, p.num_eval, p.batch_size, sample_rng, obs_rng)
    return score_features(train_x, train_y, eval_x, eval_y, seed=seed, max_iter=p.classifier_max_iter)


def describe(**params: Any) -> dict[str, Any]:
    """All settings `compute` would use, defaults filled in (for logging)."""
    if _protocol(params) == "higgins2017":
        return higgins2017.describe(**params)
    return asdict(Params.parse(params))


def _protocol(params: dict[str, Any]) -> str:
    """The protocol named by `params` ("locatello2019" when absent), checked."""
    protocol = params.get("protocol", "locatello2019")
    if protocol not in PROTOCOLS:
        raise ConfigError(f"{NAME}.protocol must be one of {', '.join(PROTOCOLS)}; got {protocol!r}")
    return protocol
