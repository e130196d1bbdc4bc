"""Score a trained run: the disentanglement metrics of `params.yaml: evaluate` on its latent means.

The metric implementations live in :mod:`betavae.metrics`; this module connects a checkpoint to them and
records what was computed with which settings.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from betavae.config import EvaluateConfig
from betavae.metrics import suite
from betavae.training.checkpoint import model_from_checkpoint
from betavae.training.inference import representation_of


def evaluate_checkpoint(checkpoint: Path, data: Any, cfg: EvaluateConfig) -> dict[str, float]:
    """All metrics of `cfg` for the model in `checkpoint`, as flat `<metric>.<score>` floats.

    The seed of `cfg` fixes every sample the metrics draw, so two evaluations of one checkpoint agree.
    """
    model, _ = model_from_checkpoint(checkpoint)
    represent = representation_of(model, int(data.max_pixel_value))
    rng = np.random.default_rng(cfg.seed)
    started = time.perf_counter()
    scores = dict(suite.evaluate(data, represent, rng, cfg.metrics))
    if cfg.reconstruction_samples:
        from betavae.metrics import reconstruction

        rec = reconstruction.compute(model, data, np.random.default_rng(cfg.seed + 1),
                                     num_samples=cfg.reconstruction_samples)
        scores.update({f"reconstruction.{k}": float(v) for k, v in rec.items()})
    scores["evaluation.seconds"] = time.perf_counter() - started
    return scores
