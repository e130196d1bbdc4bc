"""The FactorVAE disentanglement metric (Kim & Mnih 2018, Sec. 4).

Every latent is first scaled by its empirical standard deviation over a large sample of the data, and
latents whose standard deviation is below a threshold (collapsed to the prior) are pruned. One vote is
made by choosing a factor k, drawing `batch_size` factor combinations that share factor k's class and
vary freely otherwise, and taking the latent with the smallest normalised variance over that batch:

    vote = argmin_d  Var_batch(z_d) / Var_data(z_d)                          (Kim & Mnih 2018, Sec. 4)

The classifier is a majority vote: each latent predicts the factor it was most often the argmin for.
The score is the classifier's accuracy on fresh votes. Defaults follow Locatello et al. (2019):
10,000 points for the variances, pruning below 0.05, L = 64, 10,000 training and 5,000 evaluation votes.
The score is invariant to permuting the latents and to scaling each by a positive factor (as long as
no latent crosses the pruning threshold).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from betavae.config.metrics import FactorVAEParams as Params
from betavae.config.metrics import module_functions
from betavae.data.ground_truth import GroundTruthData
from betavae.metrics.cache import CodeSource, Representation, as_code_source
from betavae.metrics.sampling import fixed_factor_chunks
from betavae.metrics.utils import sub_rngs

__all__ = ["NAME", "Params", "compute", "describe", "majority_vote_accuracy", "num_draws", "vote_counts"]

NAME = Params.metric

describe, num_draws = module_functions(Params)


def vote_counts(
    data: GroundTruthData,
    source: CodeSource,
    num_votes: int,
    batch_size: int,
    global_var: np.ndarray,
    active: np.ndarray,
    sample_rng: np.random.Generator,
    obs_rng: np.random.Generator,
) -> np.ndarray:
    """Votes int64 (d, k): entry (i, j) counts the batches with factor j fixed whose argmin latent was i."""
    k = data.num_factors
    d = global_var.size
    active_idx = np.flatnonzero(active)
    votes = np.zeros((d, k), dtype=np.int64)
    for _, fixed, (factors,) in fixed_factor_chunks(data, num_votes, batch_size, 1, sample_rng):
        m = fixed.shape[0]
        point = np.arange(m)
        factors[point, :, fixed] = factors[point, 0, fixed][:, None]  # every member shares the first's class
        codes = np.asarray(source.codes(factors.reshape(-1, k), obs_rng), dtype=np.float64)
        codes = codes.reshape(m, batch_size, d)[:, :, active_idx]  # (m, L, d_active)
        normalised_var = codes.var(axis=1, ddof=1) / global_var[active_idx]  # (m, d_active)
        winner = active_idx[np.argmin(normalised_var, axis=1)]  # (m,) latent index
        np.add.at(votes, (winner, fixed), 1)
    return votes


def majority_vote_accuracy(train_votes: np.ndarray, eval_votes: np.ndarray) -> dict[str, float]:
    """Accuracy of the majority-vote classifier fitted on `train_votes` (d, k), on both vote tables.

    Latent i predicts argmax_j train_votes[i, j] (ties go to the lowest factor index).
    """
    prediction = np.argmax(train_votes, axis=1)  # (d,)
    rows = np.arange(train_votes.shape[0])
    return {
        "train_accuracy": float(train_votes[rows, prediction].sum() / max(train_votes.sum(), 1)),
        "eval_accuracy": float(eval_votes[rows, prediction].sum() / max(eval_votes.sum(), 1)),
    }


def compute(
    data: GroundTruthData, representation: Representation | CodeSource, rng: np.random.Generator, **params: Any
) -> dict[str, float]:
    """FactorVAE score: {"train_accuracy", "eval_accuracy", "num_active_dims"}.

    With no latent above the pruning threshold both accuracies are 0.
    """
    p = Params.parse(params)
    source = as_code_source(data, representation)
    sample_rng, obs_rng, _ = sub_rngs(rng)
    sample = np.asarray(
        source.codes(data.sample_factors(p.num_variance_estimate, sample_rng), obs_rng), dtype=np.float64
    )
    global_var = sample.var(axis=0, ddof=1)  # (d,)
    active = np.sqrt(global_var) >= p.prune_threshold
    active &= global_var > 0
    if not active.any():
        return {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0.0}
    train = vote_counts(data, source, p.num_train, p.batch_size, global_var, active, sample_rng, obs_rng)
    evaluation = vote_counts(data, source, p.num_eval, p.batch_size, global_var, active, sample_rng, obs_rng)
    scores = majority_vote_accuracy(train, evaluation)
    scores["num_active_dims"] = float(active.sum())
    return scores
