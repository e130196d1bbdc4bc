"""Modularity and explicitness (Ridgeway & Mozer 2018, Sec. 3).

Modularity asks whether each latent depends on at most one factor. With m_if the mutual information
between latent i (discretised into 20 equal-width bins) and factor f, theta_i = max_f m_if and the
ideal template t_if = theta_i for the best factor and 0 otherwise:

    delta_i = sum_f (m_if - t_if)^2 / (theta_i^2 (N - 1)),    modularity = mean_i (1 - delta_i)

with N the number of factors; a latent that carries no information about any factor (theta_i = 0)
scores 0, the convention of Locatello et al. (2019). Modularity is invariant to permuting and to
positively rescaling the latents.

Explicitness asks whether each factor value can be read off the whole code linearly: a one-versus-rest
logistic regression per factor, on codes standardised with the training mean and standard deviation,
and the ROC AUC of every factor value, averaged over values and then over factors. A constant code
scores 0.5 (chance); explicitness is not a disentanglement score. Defaults: 10,000 training and
5,000 test points (Locatello et al. 2019).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import rankdata
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier

from betavae.config.metrics import ModularityParams as Params
from betavae.config.metrics import module_functions
from betavae.data.ground_truth import GroundTruthData
from betavae.metrics.cache import CodeSource, Representation, draw_codes
from betavae.metrics.utils import (
    check_codes_and_factors,
    classifier_threads,
    discretize,
    mutual_information_matrix,
    split_train_test,
)

__all__ = [
    "NAME",
    "Params",
    "compute",
    "describe",
    "explicitness",
    "from_codes",
    "modularity_from_mutual_information",
    "num_draws",
    "one_vs_rest_auc",
]

NAME = Params.metric

describe, num_draws = module_functions(Params)


def modularity_from_mutual_information(mi: np.ndarray) -> float:
    """Mean modularity 1 - delta_i of a mutual-information matrix (d latents, N factors)."""
    mi = np.asarray(mi, dtype=np.float64)
    d, n = mi.shape
    theta = mi.max(axis=1)  # (d,)
    informative = theta > 0
    per_latent = np.zeros(d)
    if n == 1:
        per_latent[informative] = 1.0
        return float(per_latent.mean())
    # (m - t)^2 is 0 at the best factor and m^2 elsewhere.
    off_template = (mi**2).sum(axis=1) - theta**2
    per_latent[informative] = 1.0 - off_template[informative] / (theta[informative] ** 2 * (n - 1))
    return float(per_latent.mean())


def one_vs_rest_auc(y: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """ROC AUC of every class c against the rest, scoring with proba[:, c]; NaN where `y` has only
    positives or only negatives for c.

    The area under the ROC curve equals the Mann-Whitney statistic (Hanley & McNeil 1982, Eq. 2):
    AUC = (R+ - n+ (n+ + 1) / 2) / (n+ n-), with R+ the summed ranks of the positives among all scores
    and tied scores given their average rank, which is the trapezoidal area `roc_auc_score` computes.
    One ranking per column replaces a separate ROC curve per class.
    """
    ranks = rankdata(proba, axis=0)  # (n, C), average ranks for ties
    positive = y[:, None] == np.asarray(classes)[None, :]  # (n, C)
    n_pos = positive.sum(axis=0).astype(np.float64)
    n_neg = positive.shape[0] - n_pos
    rank_sum = (ranks * positive).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    auc[(n_pos == 0) | (n_neg == 0)] = np.nan
    return auc


def _mean_auc(y: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float:
    """Average one-vs-rest ROC AUC over the classes that have both positives and negatives in `y`."""
    auc = one_vs_rest_auc(y, proba, classes)
    defined = auc[~np.isnan(auc)]
    return float(defined.mean()) if defined.size else 0.5


def explicitness(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    *,
    seed: int = 0,
    max_iter: int = 1000,
) -> tuple[float, float]:
    """Mean one-vs-rest logistic-regression AUC over factors, on the training and on the test sample."""
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std[std == 0] = 1.0
    x_train = (x_train - mean) / std
    x_test = (x_test - mean) / std
    train_scores, test_scores = [], []
    for j in range(y_train.shape[1]):
        classes = np.unique(y_train[:, j])
        if classes.size < 2:
            train_scores.append(0.5)
            test_scores.append(0.5)
            continue
        clf = OneVsRestClassifier(LogisticRegression(max_iter=max_iter, random_state=seed))
        with classifier_threads():
            clf.fit(x_train, y_train[:, j])
            proba_train, proba_test = clf.predict_proba(x_train), clf.predict_proba(x_test)
        train_scores.append(_mean_auc(y_train[:, j], proba_train, clf.classes_))
        test_scores.append(_mean_auc(y_test[:, j], proba_test, clf.classes_))
    return float(np.mean(train_scores)), float(np.mean(test_scores))


def from_codes(
    codes: np.ndarray,
    factors: np.ndarray,
    *,
    num_train: int,
    num_bins: int = 20,
    seed: int = 0,
    classifier_max_iter: int = 1000,
) -> dict[str, float]:
    """Modularity (on the training rows) and explicitness of codes (n, d) against factor classes (n, k).

    Rows [:num_train] are the training sample, the rest the test sample. Returns modularity,
    explicitness_train, explicitness_test.
    """
    codes, factors = check_codes_and_factors(codes, factors)
    Params.parse({"num_bins": num_bins, "classifier_max_iter": classifier_max_iter})
    x_train, y_train, x_test, y_test = split_train_test(codes, factors, num_train)
    mi = mutual_information_matrix(discretize(x_train, num_bins), y_train)
    train_auc, test_auc = explicitness(x_train, y_train, x_test, y_test, seed=seed, max_iter=classifier_max_iter)
    return {
        "modularity": modularity_from_mutual_information(mi),
        "explicitness_train": train_auc,
        "explicitness_test": test_auc,
    }


def compute(
    data: GroundTruthData, representation: Representation | CodeSource, rng: np.random.Generator, **params: Any
) -> dict[str, float]:
    """Modularity and explicitness of `representation` on freshly drawn points of `data`."""
    p = Params.parse(params)
    codes, factors, seed = draw_codes(data, representation, p.num_train + p.num_test, rng)
    return from_codes(
        codes, factors, num_train=p.num_train, num_bins=p.num_bins, seed=seed, classifier_max_iter=p.classifier_max_iter
    )
