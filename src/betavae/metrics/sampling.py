"""The factor sampling behind the BetaVAE and FactorVAE scores: points that hold one factor fixed.

Each training or evaluation point of both scores (Higgins et al. 2017 Sec. 3; Kim & Mnih 2018 Sec. 4)
chooses a factor uniformly and draws a batch of factor combinations that agree on it. This module draws
the fixed factors and the independent combinations, in chunks that bound the rows handed to a code
source at once; each score then ties the fixed factor the way its paper does.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from betavae.data.ground_truth import GroundTruthData

ROWS_PER_CALL = 16384  # factor rows per code-source call: bounds memory for wide codes (raw pixels)


def fixed_factor_chunks(
    data: GroundTruthData,
    num_points: int,
    batch_size: int,
    num_sets: int,
    sample_rng: np.random.Generator,
    choices: np.ndarray | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray, list[np.ndarray]]]:
    """Yield `(label, fixed, sets)` until `num_points` points are drawn.

    For a chunk of m points, `label` (m,) is each point's draw among the factor columns `choices`
    (default: every factor), `fixed` (m,) the column it names, and `sets` holds `num_sets` independent
    draws of factor classes, each (m, batch_size, k); all from `sample_rng`, in this order.
    """
    k = data.num_factors
    choices = np.arange(k) if choices is None else np.asarray(choices, dtype=np.int64)
    per_call = max(1, ROWS_PER_CALL // (num_sets * batch_size))
    done = 0
    while done < num_points:
        m = min(per_call, num_points - done)
        label = sample_rng.integers(0, choices.size, size=m)  # (m,)
        sets = [data.sample_factors(m * batch_size, sample_rng).reshape(m, batch_size, k) for _ in range(num_sets)]
        yield label, choices[label], sets
        done += m
