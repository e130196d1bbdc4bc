"""The BetaVAE score's training points and its linear classifier, shared by both of its protocols.

A point is made by choosing a factor y, drawing `batch_size` pairs of factor combinations that agree
on factor y, encoding both members of every pair and averaging the absolute code difference:

    z_diff = 1/L sum_l |z1_l - z2_l|                                   (Higgins et al. 2017, Eq. 5)

:func:`z_diff_features` draws such points; :func:`score_features` fits the reference study's
scikit-learn logistic regression on them. The protocols that use them are
:mod:`betavae.metrics.beta_vae` (``locatello2019``) and :mod:`betavae.metrics.higgins2017`.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

from betavae.data.ground_truth import GroundTruthData
from betavae.metrics.cache import CodeSource, PairDifferenceSource
from betavae.metrics.sampling import fixed_factor_chunks
from betavae.metrics.utils import classifier_threads

__all__ = ["score_features", "z_diff_features"]


def z_diff_features(
    data: GroundTruthData,
    source: CodeSource,
    num_points: int,
    batch_size: int,
    sample_rng: np.random.Generator,
    obs_rng: np.random.Generator,
    choices: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
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
            z2 = codes[m * batch_size :].reshape(m, batch_size, -1)
            features.append(np.abs(z1 - z2).mean(axis=1))  # (m, d), Eq. 5
        labels.append(label)
    return np.concatenate(features), np.concatenate(labels)


def score_features(
    train_x: np.ndarray,
    train_y: np.ndarray,
    eval_x: np.ndarray,
    eval_y: np.ndarray,
    *,
    seed: int = 0,
    max_iter: int = 1000,
) -> dict[str, float]:
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
