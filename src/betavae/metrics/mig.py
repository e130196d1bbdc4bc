"""Mutual Information Gap (Chen et al. 2018, Sec. 4.1, Eq. 6).

For every factor v_k the latents are ranked by their mutual information with it; the gap between the
best and the second-best latent, divided by the factor's entropy, says how exclusively one latent
captures the factor:

    MIG = 1/K sum_k  ( I(z_j(k); v_k) - max_{j != j(k)} I(z_j; v_k) ) / H(v_k)     (Chen et al. 2018, Eq. 6)

As in the reference study of Locatello et al. (2019) the mutual information is estimated from
10,000 samples with each latent mean discretised into 20 equal-width bins. MIG is invariant to
permuting the latents and to positive affine changes of each latent; two copies of one latent give a
gap of zero for the factor they encode.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from betavae.config.metrics import MIGParams as Params
from betavae.config.metrics import module_functions
from betavae.data.ground_truth import GroundTruthData
from betavae.errors import DataError
from betavae.metrics.cache import CodeSource, Representation, draw_codes
from betavae.metrics.utils import (
    check_codes_and_factors,
    discretize,
    factor_entropies,
    mutual_information_matrix,
)

__all__ = ["NAME", "Params", "compute", "describe", "from_codes", "gap_from_mutual_information", "num_draws"]

NAME = Params.metric

describe, num_draws = module_functions(Params)


def gap_from_mutual_information(mi: np.ndarray, entropies: np.ndarray) -> np.ndarray:
    """Per-factor normalised gap (k,) from the MI matrix (d, k) and factor entropies (k,).

    With a single latent the second-best information is taken as 0.
    """
    if np.any(entropies <= 0):
        j = int(np.argmax(entropies <= 0))
        raise DataError(f"factor {j} takes a single value in the sample (entropy 0); MIG is undefined for it")
    ranked = np.sort(mi, axis=0)[::-1]  # (d, k), descending
    second = ranked[1] if ranked.shape[0] > 1 else np.zeros_like(ranked[0])
    return (ranked[0] - second) / entropies


def from_codes(codes: np.ndarray, factors: np.ndarray, *, num_bins: int = 20) -> dict[str, float]:
    """MIG of codes (n, d) against factor classes (n, k): {"score"} plus "gap.<j>" for every factor j."""
    codes, factors = check_codes_and_factors(codes, factors)
    Params.parse({"num_bins": num_bins})
    mi = mutual_information_matrix(discretize(codes, num_bins), factors)
    gaps = gap_from_mutual_information(mi, factor_entropies(factors))
    out = {"score": float(gaps.mean())}
    out.update({f"gap.{j}": float(g) for j, g in enumerate(gaps)})
    return out


def compute(
    data: GroundTruthData, representation: Representation | CodeSource, rng: np.random.Generator, **params: Any
) -> dict[str, float]:
    """MIG of `representation` on `num_train` freshly drawn points of `data`."""
    p = Params.parse(params)
    codes, factors, _ = draw_codes(data, representation, p.num_train, rng)
    return from_codes(codes, factors, num_bins=p.num_bins)
