"""Unsupervised Disentanglement Ranking, UDR (Duan et al. 2020, Sec. 3 and Eq. 1-2).

UDR needs no ground-truth factors. Its premise: seeds of one well-disentangling configuration learn
the *same* axis-aligned latents up to permutation and sign, while entangled solutions differ from seed
to seed. For two models a and b encoding the same N images:

1. Standardise every latent mean over the images and keep the *informative* latents, those whose mean
   KL(q(z_i|x) || p(z_i)) exceeds `kl_threshold` (the indicator I_KL; by default
   :data:`betavae.config.metrics.ACTIVE_KL_NATS`, 0.01 nats).
2. Fill a similarity matrix R (d_a x d_b) between the latents of a and of b: the absolute Spearman rank
   correlation (``udr.spearman``), or the absolute weights of a Lasso regression (alpha 0.1, the value
   of the reference implementation) predicting b's latents from a's (``udr.lasso``).
3. Score how one-to-one R is, from both sides (Eq. 1):

       UDR_ab = 1 / (d_a + d_b) * [ sum_b r_b^2 / sum_a R_ab  +  sum_a r_a^2 / sum_b R_ab ]

   with r_a = max_b R_ab, r_b = max_a R_ab and d_a, d_b the numbers of informative latents. A permutation
   matrix scores 1, a d x d matrix of equal entries c scores c/d. Since the score scales with R, the
   Lasso variant of two identical models scores 1 - alpha (the penalty shrinks a standardised copy's
   weight from 1 to 1 - alpha), as in the reference implementation; ``normalise=True`` divides R by
   its largest entry first, so that identical models score 1 under either similarity.
4. A model's UDR is the median of its pairwise scores with every other seed of its configuration (Eq. 2).

Rows and columns that are all zero (a latent that nothing predicts) contribute 0, as in the reference
implementation; two models with no informative latent score 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import spearmanr
from sklearn.linear_model import Lasso

from betavae.config.metrics import ACTIVE_KL_NATS, module_functions
from betavae.config.metrics import UDRParams as Params
from betavae.errors import ConfigError, DataError
from betavae.metrics.utils import classifier_threads

__all__ = ["CORRELATIONS", "Params", "UDRResult", "describe", "from_codes", "pairwise_score", "similarity"]

NAME = Params.metric
CORRELATIONS = ("spearman", "lasso")

describe, _ = module_functions(Params)


@dataclass(frozen=True)
class UDRResult:
    """Per-model UDR (median over the other models) and the pairwise matrix (diagonal NaN)."""

    correlation: str
    model_scores: tuple[float, ...]
    pairwise: np.ndarray  # (m, m)
    active: tuple[int, ...]  # informative latents per model


def _standardise(codes: np.ndarray) -> np.ndarray:
    std = codes.std(axis=0)
    out = np.zeros_like(codes)
    varying = std > 0
    out[:, varying] = (codes[:, varying] - codes[:, varying].mean(axis=0)) / std[varying]
    return out


def similarity(
    a: np.ndarray, b: np.ndarray, correlation: str = "spearman", *, lasso_alpha: float = 0.1, seed: int = 0
) -> np.ndarray:
    """R (d_a, d_b) >= 0 between the latents of standardised codes a (n, d_a) and b (n, d_b)."""
    if correlation == "spearman":
        rho = np.asarray(spearmanr(a, b).statistic, dtype=np.float64)
        if rho.ndim == 0:  # one latent on each side: scipy returns a scalar
            rho = np.array([[rho, rho], [rho, rho]])
        r = np.abs(rho[: a.shape[1], a.shape[1] :])
        return np.nan_to_num(r, nan=0.0)  # a constant latent has no rank correlation
    if correlation == "lasso":
        model = Lasso(alpha=lasso_alpha, random_state=seed)
        with classifier_threads():
            model.fit(a, b)
        return np.abs(np.asarray(model.coef_, dtype=np.float64).reshape(b.shape[1], a.shape[1]).T)
    raise ConfigError(f"{NAME} correlation must be one of {', '.join(CORRELATIONS)}; got {correlation!r}")


def pairwise_score(r: np.ndarray) -> float:
    """Eq. 1 on a similarity matrix R (d_a, d_b) of informative latents: 1 for a permutation matrix."""
    r = np.asarray(r, dtype=np.float64)
    if r.size == 0:
        return 0.0
    col_sums, row_sums = r.sum(axis=0), r.sum(axis=1)
    cols = np.divide(r.max(axis=0) ** 2, col_sums, out=np.zeros_like(col_sums), where=col_sums > 0)
    rows = np.divide(r.max(axis=1) ** 2, row_sums, out=np.zeros_like(row_sums), where=row_sums > 0)
    return float((cols.sum() + rows.sum()) / (r.shape[0] + r.shape[1]))


def from_codes(
    codes: Sequence[np.ndarray],
    kl_per_latent: Sequence[np.ndarray],
    *,
    correlation: str = "spearman",
    kl_threshold: float = ACTIVE_KL_NATS,
    lasso_alpha: float = 0.1,
    normalise: bool = False,
    seed: int = 0,
) -> UDRResult:
    """UDR of m >= 2 models from their latent means on the same images (n, d_i) and mean KL per latent (d_i,)."""
    if correlation not in CORRELATIONS:
        raise ConfigError(f"{NAME} correlation must be one of {', '.join(CORRELATIONS)}; got {correlation!r}")
    m = len(codes)
    if m < 2 or len(kl_per_latent) != m:
        raise DataError(
            f"UDR compares at least 2 models of one configuration, got {m} codes and {len(kl_per_latent)} KL vectors"
        )
    kept = []
    for i, (c, kl) in enumerate(zip(codes, kl_per_latent, strict=True)):
        c = np.asarray(c, dtype=np.float64)
        kl = np.asarray(kl, dtype=np.float64)
        if c.ndim != 2 or kl.shape != (c.shape[1],) or c.shape[0] != np.asarray(codes[0]).shape[0]:
            raise DataError(
                f"model {i}: codes must be (n, d) over the same n images with KL (d,), got {c.shape} and {kl.shape}"
            )
        if not (np.isfinite(c).all() and np.isfinite(kl).all()):
            raise DataError(f"model {i}: codes and KL must be finite")
        kept.append(_standardise(c)[:, kl > kl_threshold])
    pairwise = np.full((m, m), np.nan)
    for i in range(m):
        for j in range(m):
            if i == j:
                continue
            if kept[i].shape[1] == 0 or kept[j].shape[1] == 0:
                pairwise[i, j] = 0.0
                continue
            r = similarity(kept[i], kept[j], correlation, lasso_alpha=lasso_alpha, seed=seed)
            if normalise and r.max() > 0:
                r = r / r.max()
            pairwise[i, j] = pairwise_score(r)
    scores = tuple(float(np.median(np.delete(pairwise[i], i))) for i in range(m))
    return UDRResult(correlation, scores, pairwise, tuple(k.shape[1] for k in kept))
