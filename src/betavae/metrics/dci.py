"""DCI: disentanglement, completeness and informativeness (Eastwood & Williams 2018, Sec. 2-3).

One regressor per factor predicts it from all latents; its feature importances form column j of the
importance matrix R (d latents x K factors). With P_ij = R_ij / sum_k R_ik and H_K the entropy in base K:

    D_i = 1 - H_K(P_i.),     D = sum_i rho_i D_i,  rho_i = sum_j R_ij / sum_ij R_ij     (Eq. 1-2)
    C_j = 1 - H_D(P~_.j),    P~_ij = R_ij / sum_i R_ij                                  (Eq. 3)

Completeness is aggregated with the factors' share of the importance, as in Locatello et al. (2019)
(each column of R sums to one, so this is the plain mean). Informativeness is reported as the
predictors' classification *accuracy* on the training and test samples (the reference study's
convention; Eastwood & Williams report the prediction error, i.e. 1 - accuracy).

Predictors. The reference study uses scikit-learn's GradientBoostingClassifier with its defaults
(100 depth-3 trees per class, learning rate 0.1) on 10,000 training and 5,000 test points, selected here
with ``estimator="gbt"``. That fits n_classes trees per boosting round; on dSprites (3 + 6 + 40 + 32 + 32
classes) it is 11,300 trees, several minutes on two CPU cores. ``estimator="hist_gbt"`` fits the same
model family (100 rounds of depth-3 trees, learning rate 0.1) with HistGradientBoostingClassifier, which
bins each latent into at most 255 quantile bins before growing the trees, and reads the importance of a
latent as the summed loss reduction (gain) of every split on it, normalised to sum to one per factor:
the histogram analogue of the impurity importance that GradientBoostingClassifier reports. This is a
deliberate deviation, chosen by the suite's parameter sets for speed; its scores are close to but not
identical with the exact estimator's. On a noisy, partly mixed 10-latent code of dSprites-sized factors
(2,000 training and 1,000 test points) it took 8.5 s instead of 85 s and gave D = 0.556, C = 0.514,
test accuracy 0.505 where the exact estimator gave 0.527, 0.486 and 0.502.

Threads (`num_threads`, default 1). The histogram estimator runs each fit on that many OpenMP threads:
on a shared machine, more threads than idle cores make its busy-waiting threads orders of magnitude
slower, while one thread is predictable everywhere. The exact estimator fits single-threaded, so it
fits up to `num_threads` factors side by side instead, the factors with most classes first (the tree
builder releases the GIL). Each factor's predictor is seeded alike however the fits are scheduled, so
the scores do not depend on the thread count; on dSprites-sized factors two threads fitted the five
predictors 1.76x faster than one, with identical importances.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from typing import Any

import numpy as np
from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier

from betavae.config.metrics import DCI_ESTIMATORS as ESTIMATORS
from betavae.config.metrics import DCIParams as Params
from betavae.config.metrics import module_functions
from betavae.data.ground_truth import GroundTruthData
from betavae.errors import DataError
from betavae.metrics.cache import CodeSource, Representation, draw_codes
from betavae.metrics.utils import (
    check_codes_and_factors,
    classifier_threads,
    split_train_test,
)

__all__ = [
    "ESTIMATORS",
    "NAME",
    "Params",
    "compute",
    "describe",
    "from_codes",
    "importance_matrix",
    "num_draws",
    "scores_from_importance",
]

NAME = Params.metric

describe, num_draws = module_functions(Params)


# ---------------------------------------------------------------------------------------------- scores
def _entropy_rows(p: np.ndarray, base: int) -> np.ndarray:
    """Entropy in `base` of every row of a row-stochastic matrix, with 0 log 0 = 0."""
    logs = np.zeros_like(p)
    np.log(p, out=logs, where=p > 0)
    return -(p * logs).sum(axis=1) / np.log(base)


def _one_minus_entropy(weights: np.ndarray) -> np.ndarray:
    """1 - H_m(row / row.sum()) for every row of non-negative `weights` (r, m); rows of zeros give 0."""
    r, m = weights.shape
    totals = weights.sum(axis=1)
    out = np.zeros(r)
    if m == 1:
        out[totals > 0] = 1.0  # a single column: all weight is necessarily on it
        return out
    nz = totals > 0
    out[nz] = 1.0 - _entropy_rows(weights[nz] / totals[nz, None], m)
    return out


def scores_from_importance(importance: np.ndarray) -> dict[str, float]:
    """Disentanglement (Eq. 2) and completeness (Eq. 3) from an importance matrix (d, K) >= 0.

    An all-zero matrix (nothing is predictive) scores 0 on both.
    """
    importance = np.asarray(importance, dtype=np.float64)
    if importance.ndim != 2 or importance.size == 0:
        raise DataError(f"importance must be a non-empty (d, K) matrix, got shape {importance.shape}")
    if (importance < 0).any() or not np.isfinite(importance).all():
        raise DataError("importance entries must be finite and non-negative")
    total = importance.sum()
    if total == 0:
        return {"disentanglement": 0.0, "completeness": 0.0}
    per_code = _one_minus_entropy(importance)  # (d,)
    per_factor = _one_minus_entropy(importance.T)  # (K,)
    code_weight = importance.sum(axis=1) / total
    factor_weight = importance.sum(axis=0) / total
    return {"disentanglement": float(per_code @ code_weight), "completeness": float(per_factor @ factor_weight)}


# ---------------------------------------------------------------------------------------------- predictors
def _gain_importance(model: HistGradientBoostingClassifier, num_features: int) -> np.ndarray:
    """Summed split gain per feature over every tree of a fitted HistGradientBoostingClassifier."""
    try:
        trees = [tree for stage in model._predictors for tree in stage]
        nodes = [tree.nodes for tree in trees]
        gains = np.zeros(num_features)
        for n in nodes:
            split = ~n["is_leaf"].astype(bool)
            np.add.at(gains, n["feature_idx"][split], np.maximum(n["gain"][split], 0.0))
    except (AttributeError, KeyError, ValueError, TypeError) as err:  # pragma: no cover - sklearn internals moved
        raise RuntimeError(
            "cannot read split gains from this scikit-learn's HistGradientBoostingClassifier; use dci estimator='gbt'"
        ) from err
    return gains


def _fit_factor(
    x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, p: Params, seed: int
) -> tuple[np.ndarray, float, float]:
    """Importance (d,) normalised to sum 1 (or all 0), train accuracy and test accuracy for one factor."""
    d = x_train.shape[1]
    classes = np.unique(y_train)
    if classes.size < 2:
        only = classes[0]
        return np.zeros(d), float(np.mean(y_train == only)), float(np.mean(y_test == only))
    if p.estimator == "gbt":
        model: Any = GradientBoostingClassifier(
            n_estimators=p.n_estimators, max_depth=p.max_depth, learning_rate=p.learning_rate, random_state=seed
        )
        model.fit(x_train, y_train)
        importance = np.abs(model.feature_importances_)
    else:
        model = HistGradientBoostingClassifier(
            max_iter=p.n_estimators,
            max_depth=p.max_depth,
            max_leaf_nodes=None,
            learning_rate=p.learning_rate,
            early_stopping=False,
            random_state=seed,
        )
        with classifier_threads(p.num_threads):
            model.fit(x_train, y_train)
        importance = _gain_importance(model, d)
    total = importance.sum()
    importance = importance / total if total > 0 else np.zeros(d)
    with classifier_threads(p.num_threads if p.estimator == "hist_gbt" else 1):
        predicted = model.predict(np.concatenate([x_train, x_test]))  # one pass over the trees for both
    train_acc = float(np.mean(predicted[: len(x_train)] == y_train))
    test_acc = float(np.mean(predicted[len(x_train) :] == y_test))
    return importance, train_acc, test_acc


def importance_matrix(
    x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, p: Params, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Importance R (d, K), train accuracy (K,) and test accuracy (K,) of one predictor per factor."""
    k = y_train.shape[1]

    def fit(j: int) -> tuple[np.ndarray, float, float]:
        return _fit_factor(x_train, y_train[:, j], x_test, y_test[:, j], p, seed)

    workers = min(p.num_threads, k) if p.estimator == "gbt" else 1
    if workers > 1:
        order = sorted(range(k), key=lambda j: -np.unique(y_train[:, j]).size)  # longest fits first
        with classifier_threads(1), ThreadPoolExecutor(workers) as pool:
            fitted = dict(zip(order, pool.map(fit, order)))
    else:
        fitted = {j: fit(j) for j in range(k)}
    importance = np.stack([fitted[j][0] for j in range(k)], axis=1)
    train_acc = np.array([fitted[j][1] for j in range(k)])
    test_acc = np.array([fitted[j][2] for j in range(k)])
    return importance, train_acc, test_acc


def from_codes(
    codes: np.ndarray, factors: np.ndarray, *, num_train: int, seed: int = 0, **params: Any
) -> dict[str, float]:
    """DCI of codes (n, d) against factor classes (n, k); rows [:num_train] fit the predictors, the rest test.

    Returns disentanglement, completeness, informativeness_train, informativeness_test (accuracies).
    """
    codes, factors = check_codes_and_factors(codes, factors)
    p = Params.parse({**params, "num_train": num_train, "num_test": max(codes.shape[0] - num_train, 1)})
    x_train, y_train, x_test, y_test = split_train_test(codes, factors, num_train)
    importance, train_acc, test_acc = importance_matrix(x_train, y_train, x_test, y_test, p, seed)
    out = scores_from_importance(importance)
    out["informativeness_train"] = float(train_acc.mean())
    out["informativeness_test"] = float(test_acc.mean())
    return out


def compute(
    data: GroundTruthData, representation: Representation | CodeSource, rng: np.random.Generator, **params: Any
) -> dict[str, float]:
    """DCI of `representation` on `num_train` + `num_test` freshly drawn points of `data`."""
    p = Params.parse(params)
    codes, factors, seed = draw_codes(data, representation, p.num_train + p.num_test, rng)
    settings = {k: v for k, v in asdict(p).items() if k not in ("num_train", "num_test")}
    return from_codes(codes, factors, num_train=p.num_train, seed=seed, **settings)
