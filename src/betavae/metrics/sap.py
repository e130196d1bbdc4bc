"""Separated Attribute Predictability, SAP (Kumar et al. 2018, Sec. 3).

A score matrix S (d latents x K factors) holds how well each single latent predicts each factor. For
every factor the two best latents are found; SAP is the mean over factors of the difference between
their scores. A high SAP means each factor is predictable from one latent and not from a second one.

Discrete factors (the default, as in Locatello et al. 2019): S_ij is the test accuracy of a linear SVM
(scikit-learn LinearSVC, C = 0.01, balanced class weights) fitted on latent i alone to predict factor j,
10,000 training and 5,000 test points. Continuous factors (``continuous_factors=True``): S_ij is the
R^2 of a one-dimensional linear regression of factor j on latent i, i.e. their squared correlation,
on the training sample.

Known limit of the discrete variant: a linear classifier on one latent separates at most two classes
well, and an uninformative latent still scores the chance accuracy (about 1 / classes), so even a
perfect one-latent-per-factor code scores well below 1 on factors with many classes; binary factors
give at most about 0.5. SAP is invariant to permuting the latents, not to rescaling them (the SVM's
regularisation depends on scale).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.svm import LinearSVC

from betavae.config.metrics import SAPParams as Params
from betavae.config.metrics import module_functions
from betavae.data.ground_truth import GroundTruthData
from betavae.metrics.cache import CodeSource, Representation, draw_codes
from betavae.metrics.utils import (
    check_codes_and_factors,
    classifier_threads,
    split_train_test,
)

__all__ = ["NAME", "Params", "compute", "describe", "from_codes", "gap_from_scores", "num_draws", "score_matrix"]

NAME = Params.metric

describe, num_draws = module_functions(Params)


def _squared_correlation(x: np.ndarray, y: np.ndarray) -> float:
    """R^2 of the least-squares line y ~ a x + b; 0 when either variable is constant."""
    x = x - x.mean()
    y = y - y.mean()
    denom = float((x @ x) * (y @ y))
    return float((x @ y) ** 2 / denom) if denom > 0 else 0.0


def score_matrix(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    *,
    C: float = 0.01,
    continuous_factors: bool = False,
) -> np.ndarray:
    """S (d, K): single-latent predictability of every factor (accuracy, or R^2 if continuous)."""
    d, k = x_train.shape[1], y_train.shape[1]
    scores = np.zeros((d, k))
    for j in range(k):
        classes = np.unique(y_train[:, j])
        for i in range(d):
            if continuous_factors:
                scores[i, j] = _squared_correlation(x_train[:, i], y_train[:, j].astype(np.float64))
            elif classes.size < 2:
                scores[i, j] = float(np.mean(y_test[:, j] == classes[0]))
            else:
                clf = LinearSVC(C=C, class_weight="balanced")
                with warnings.catch_warnings(), classifier_threads():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    clf.fit(x_train[:, i : i + 1], y_train[:, j])
                scores[i, j] = float(np.mean(clf.predict(x_test[:, i : i + 1]) == y_test[:, j]))
    return scores


def gap_from_scores(scores: np.ndarray) -> np.ndarray:
    """Per-factor gap (K,) between the best and second-best latent of a score matrix (d, K)."""
    ranked = np.sort(scores, axis=0)[::-1]
    second = ranked[1] if ranked.shape[0] > 1 else np.zeros_like(ranked[0])
    return ranked[0] - second


def from_codes(
    codes: np.ndarray, factors: np.ndarray, *, num_train: int, C: float = 0.01, continuous_factors: bool = False
) -> dict[str, float]:
    """SAP of codes (n, d) against factor classes (n, k); rows [:num_train] fit, the rest test.

    Returns {"score"} plus "gap.<j>" for every factor j.
    """
    codes, factors = check_codes_and_factors(codes, factors)
    Params.parse({"C": C, "continuous_factors": continuous_factors})
    x_train, y_train, x_test, y_test = split_train_test(codes, factors, num_train)
    gaps = gap_from_scores(score_matrix(x_train, y_train, x_test, y_test, C=C, continuous_factors=continuous_factors))
    out = {"score": float(gaps.mean())}
    out.update({f"gap.{j}": float(g) for j, g in enumerate(gaps)})
    return out


def compute(
    data: GroundTruthData, representation: Representation | CodeSource, rng: np.random.Generator, **params: Any
) -> dict[str, float]:
    """SAP of `representation` on `num_train` + `num_test` freshly drawn points of `data`."""
    p = Params.parse(params)
    codes, factors, _ = draw_codes(data, representation, p.num_train + p.num_test, rng)
    return from_codes(codes, factors, num_train=p.num_train, C=p.C, continuous_factors=p.continuous_factors)
