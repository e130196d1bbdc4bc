"""Score a trained run: every metric of the evaluate profile plus reconstruction, from its checkpoint.

The metric implementations live in :mod:`betavae.metrics`; this module connects checkpoints to them. A
run's codes are cached once per grid image (:class:`~betavae.metrics.cache.GridCodeCache`) and the
same cache serves its scores and its table row (:mod:`betavae.evaluation.sweep_table`), so no image is
encoded twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from betavae.config import EvaluateConfig, RunConfig
from betavae.data.ground_truth import GroundTruthData
from betavae.data.split import held_out
from betavae.evaluation.inference import representation_of
from betavae.metrics import requirements, suite
from betavae.training.checkpoint import model_from_checkpoint


@dataclass
class ScoredRun:
    """A run's scores plus the code source that produced them (reused for its table row)."""

    run: RunConfig
    scores: dict[str, float]
    source: Any = field(repr=False)
    notes: dict[str, str] = field(default_factory=dict)  # estimator of each score, metrics skipped and why
    checkpoint: Path | None = None


def evaluate_checkpoint(checkpoint: Path, data: GroundTruthData, cfg: EvaluateConfig) -> ScoredRun:
    """All metrics of `cfg` for the model in `checkpoint`, as flat `<metric>.<score>` floats.

    The seed of `cfg` fixes every sample the metrics draw, so two evaluations of one checkpoint agree.
    """
    model, run = model_from_checkpoint(checkpoint)
    started = time.perf_counter()
    notes = requirements.estimators(cfg.metrics)
    reason = requirements.missing_factors(data)
    if reason is None:
        source = suite.code_source(
            data, representation_of(model, int(data.max_pixel_value), factor_names=data.factor_names), cfg.metrics
        )
        scores = dict(suite.evaluate(data, source, np.random.default_rng(cfg.seed), cfg.metrics))
    else:
        source, scores = None, {}
        notes.update({f"skipped.{name}": reason for name in cfg.metrics})
    if cfg.reconstruction_samples:
        from betavae.evaluation import reconstruction

        rec = reconstruction.compute(  # on the test split: images the model never trained on
            model, held_out(data), np.random.default_rng(cfg.seed + 1), num_samples=cfg.reconstruction_samples
        )
        scores.update({f"reconstruction.{k}": float(v) for k, v in rec.items()})
    scores["evaluation.seconds"] = time.perf_counter() - started
    return ScoredRun(run, scores, source, notes, checkpoint)
