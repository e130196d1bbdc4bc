"""The comparison table of Higgins et al. 2017, Fig. 5 (left): baselines and every trained
configuration, each scored over its replicas by the Appendix A.4 protocol."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from betavae.config import EvaluateConfig, RunConfig
from betavae.data.ground_truth import GroundTruthData
from betavae.evaluation import baselines, protocol
from betavae.evaluation.inference import representation_of
from betavae.evaluation.scoring import ScoredRun
from betavae.evaluation.table import TableRow
from betavae.models import build_model


def model_label(run: RunConfig) -> str:
    """The table's name for a configuration, seeds pooled: `VAE`, `beta-VAE (beta=4)`, `beta_tcvae (...)`."""
    objective = run.objective.objective
    if objective == "vae" or (objective == "beta_vae" and run.objective.beta == 1.0):
        base = "VAE"
    elif objective == "beta_vae":
        base = f"\u03b2-VAE (\u03b2={run.objective.beta:g})"
    elif hasattr(run.objective, "beta"):
        base = f"{objective} (\u03b2={run.objective.beta:g})"
    else:
        base = objective
    swept = [f"{k.split('.')[-1]}={v}" for k, v in run.overrides
             if k not in ("train.seed", "train.beta", "train.objective")]
    return base if not swept else f"{base} [{', '.join(swept)}]"


def comparison_table(data: GroundTruthData, scored: Sequence[ScoredRun], cfg: EvaluateConfig,
                     ) -> tuple[list[TableRow], dict[str, Any]]:
    """Rows of Fig. 5 (left): baselines, then each configuration with its seeds pooled by the A.4
    protocol (every replica x every classifier seed, bottom half discarded, mean +- std)."""
    table = cfg.table
    params = cfg.metrics[table.metric]
    rng = np.random.default_rng(cfg.seed)
    replicas: dict[str, list[Any]] = {}
    for name in table.baselines:
        if name == "untrained_vae":
            continue
        kwargs = {"num_samples": table.fit_samples} if name in ("pca", "ica") else {}
        label = {"ground_truth": "Ground truth", "raw_pixels": "Raw pixels", "pca": "PCA",
                 "ica": "ICA"}[name]
        replicas[label] = [baselines.build(name, data, rng, **kwargs)]
    if "untrained_vae" in table.baselines and scored:
        untrained = []
        for seed in sorted({s.run.train.seed for s in scored}):
            torch.manual_seed(seed)
            model = build_model(scored[0].run.model, tuple(data.observation_shape)).eval()
            untrained.append(representation_of(model, int(data.max_pixel_value)))
        replicas["Untrained VAE"] = untrained
    for item in scored:
        replicas.setdefault(model_label(item.run), []).append(item.source)

    rows, details = [], {}
    for label, sources in replicas.items():
        result = protocol.run(data, sources, classifier_seeds=list(table.classifier_seeds), metric=table.metric,
                              score=table.score, params=params, keep_fraction=table.keep_fraction)
        rows.append(TableRow(model=label, mean=result.mean, std=result.std, num_scores=len(result.scores)))
        details[label] = result.as_dict()
    return rows, details

