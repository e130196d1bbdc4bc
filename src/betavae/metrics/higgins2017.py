"""The BetaVAE score exactly as Higgins et al. (2017) ran it: Sec. 3, Eq. 5 and Appendix A.4.

This is the ``higgins2017`` protocol of the ``beta_vae`` metric (``protocol: higgins2017``); the
default ``locatello2019`` protocol is the reference study's variant in :mod:`betavae.metrics.beta_vae`.
The two differ where the papers differ:

- the label y is drawn uniformly from a *subset* of the factors (A.4: position X, position Y, scale
  and rotation on 2D shapes, ``factors``); every other factor, shape included, is drawn afresh for
  each of the two images of a pair;
- z_diff = 1/L sum_l |mu(x_l1) - mu(x_l2)| over L pairs sharing factor y (Eq. 5), as in both;
- the classifier is a fully connected linear softmax layer trained on the negative log-likelihood by
  Adagrad (Duchi et al. 2011) with learning rate 1e-2 "until convergence", with no weight penalty
  (``classifier: adagrad``), where the reference study fits an L2-penalised scikit-learn logistic
  regression (``classifier: logistic_regression``).

"Until convergence" is not defined further in the paper. Here it is: epochs of shuffled mini-batches of
`classifier_batch_size` points, until the full training negative log-likelihood has fallen by less
than `tol` per epoch (relative, averaged over the last `patience` epochs; below a loss of 0.1 nats
the bound is taken relative to 0.1), or `max_epochs` passed.
The scores depend on this choice, because an unpenalised softmax on wide inputs (raw pixels) keeps
improving its training fit for thousands of epochs; ``docs/results/higgins2017-protocol.md`` reports
the baseline rows under the default and under a tight tolerance. The classifier seed initialises the weights (A.4:
"a different random seed to initialise the linear classifier") and orders the mini-batches.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from betavae.config.metrics import HIGGINS2017_CLASSIFIERS as CLASSIFIERS
from betavae.config.metrics import Higgins2017Params as Params
from betavae.data.ground_truth import GroundTruthData
from betavae.errors import ConfigError, DataError
from betavae.metrics.cache import CodeSource, Representation, as_code_source
from betavae.metrics.utils import classifier_threads, sub_rngs
from betavae.metrics.z_diff import score_features, z_diff_features

__all__ = [
    "CLASSIFIERS",
    "DSPRITES_FACTORS",
    "Params",
    "compute",
    "describe",
    "factor_choices",
    "num_draws",
    "train_softmax",
]

NAME = Params.metric
#: A.4: "y is one of four generative factors (position X, position Y, scale and rotation)".
DSPRITES_FACTORS = ("posX", "posY", "scale", "orientation")


def num_draws(**params: Any) -> int:
    """Number of observations `compute` encodes with these settings."""
    return Params.parse(params).draws()


def factor_choices(data: GroundTruthData, names: tuple[str, ...]) -> np.ndarray:
    """Column indices of the factors y is drawn from: `names` in `data.factor_names`, or all if empty."""
    available = tuple(data.factor_names)
    if not names:
        return np.arange(len(available))
    missing = [n for n in names if n not in available]
    if missing:
        raise ConfigError(f"{NAME}.factors names {missing}, which dataset factors {list(available)} lack")
    return np.array([available.index(n) for n in names], dtype=np.int64)


def train_softmax(
    train_x: np.ndarray, train_y: np.ndarray, num_classes: int, p: Params, seed: int
) -> tuple[torch.nn.Linear, int]:
    """Fit a linear softmax classifier by Adagrad on the mean negative log-likelihood, no penalty (A.4).

    Returns the layer and the number of epochs it took to converge (see the module docstring).
    """
    gen = torch.Generator().manual_seed(seed)
    x = torch.from_numpy(np.ascontiguousarray(train_x, dtype=np.float32))
    y = torch.from_numpy(np.ascontiguousarray(train_y, dtype=np.int64))
    layer = torch.nn.Linear(x.shape[1], num_classes)
    with torch.no_grad():
        torch.nn.init.normal_(layer.weight, std=0.01, generator=gen)
        layer.bias.zero_()
    optimiser = torch.optim.Adagrad(layer.parameters(), lr=p.lr)
    loss_fn = torch.nn.CrossEntropyLoss()  # log-softmax + NLL
    history: list[float] = []
    n = x.shape[0]
    for _ in range(p.max_epochs):
        order = torch.randperm(n, generator=gen)
        for start in range(0, n, p.classifier_batch_size):
            idx = order[start : start + p.classifier_batch_size]
            optimiser.zero_grad(set_to_none=True)
            loss_fn(layer(x[idx]), y[idx]).backward()
            optimiser.step()
        with torch.no_grad():
            history.append(float(loss_fn(layer(x), y)))
        if len(history) > p.patience:
            before = history[-1 - p.patience]
            # relative to the loss, but never finer than 0.1 nats: on separable points (the ground
            # truth) the unpenalised loss falls towards 0 by a constant ratio and would never stop
            if before - history[-1] <= p.tol * p.patience * max(abs(before), 0.1):
                break
    return layer, len(history)


def _accuracies(
    train_x: np.ndarray,
    train_y: np.ndarray,
    eval_x: np.ndarray,
    eval_y: np.ndarray,
    num_classes: int,
    p: Params,
    seed: int,
) -> dict[str, float]:
    if np.unique(train_y).size < 2:
        only = train_y[0]
        return {"train_accuracy": float(np.mean(train_y == only)), "eval_accuracy": float(np.mean(eval_y == only))}
    if p.classifier == "logistic_regression":
        return score_features(train_x, train_y, eval_x, eval_y, seed=seed)
    torch_threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: extra threads only contend on a shared machine
    try:
        with classifier_threads():
            layer, epochs = train_softmax(train_x, train_y, num_classes, p, seed)
            with torch.no_grad():
                train_pred = layer(torch.from_numpy(np.ascontiguousarray(train_x, dtype=np.float32))).argmax(1)
                eval_pred = layer(torch.from_numpy(np.ascontiguousarray(eval_x, dtype=np.float32))).argmax(1)
    finally:
        torch.set_num_threads(torch_threads)
    return {
        "train_accuracy": float(np.mean(train_pred.numpy() == train_y)),
        "eval_accuracy": float(np.mean(eval_pred.numpy() == eval_y)),
        "classifier_epochs": float(epochs),
    }


def compute(
    data: GroundTruthData, representation: Representation | CodeSource, rng: np.random.Generator, **params: Any
) -> dict[str, float]:
    """BetaVAE score by A.4: {"train_accuracy", "eval_accuracy"} of predicting y from z_diff (Eq. 5)."""
    p = Params.parse(params)
    choices = factor_choices(data, p.factors)
    if choices.size < 2:
        raise DataError(f"the BetaVAE score needs at least 2 factors to classify, got {choices.size}")
    source = as_code_source(data, representation)
    sample_rng, obs_rng, seed = sub_rngs(rng)
    train_x, train_y = z_diff_features(data, source, p.num_train, p.batch_size, sample_rng, obs_rng, choices)
    eval_x, eval_y = z_diff_features(data, source, p.num_eval, p.batch_size, sample_rng, obs_rng, choices)
    return _accuracies(train_x, train_y, eval_x, eval_y, choices.size, p, seed)


def describe(**params: Any) -> dict[str, Any]:
    """All settings `compute` would use, defaults filled in (for logging)."""
    return Params.parse(params).as_dict()
