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
The points of Eq. 5 and the classifier both protocols share are in :mod:`betavae.metrics.z_diff`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from betavae.config.metrics import BetaVAEParams as Params
from betavae.config.metrics import beta_vae_protocol
from betavae.data.ground_truth import GroundTruthData
from betavae.errors import DataError
from betavae.metrics import higgins2017
from betavae.metrics.cache import CodeSource, Representation, as_code_source
from betavae.metrics.utils import sub_rngs
from betavae.metrics.z_diff import score_features, z_diff_features

__all__ = ["NAME", "Params", "compute", "describe", "num_draws"]

NAME = Params.metric


def num_draws(**params: Any) -> int:
    """Number of observations `compute` encodes with these settings (either protocol)."""
    if beta_vae_protocol(params) == "higgins2017":
        return higgins2017.num_draws(**params)
    return Params.parse(params).draws()


def compute(
    data: GroundTruthData, representation: Representation | CodeSource, rng: np.random.Generator, **params: Any
) -> dict[str, float]:
    """BetaVAE score of `representation` on `data`: {"train_accuracy", "eval_accuracy"} in [0, 1].

    `representation` maps uint8 images (n, H, W, C) to codes (n, d), or is a code source mapping
    factor classes to codes (see :mod:`betavae.metrics.cache`). `rng` fixes every sample drawn.
    """
    if beta_vae_protocol(params) == "higgins2017":
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
    if beta_vae_protocol(params) == "higgins2017":
        return higgins2017.describe(**params)
    return Params.parse(params).as_dict()
