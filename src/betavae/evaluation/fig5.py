"""Rows of the table of Higgins et al. 2017, Fig. 5 (left): baselines and trained models, pooled by A.4.

Each row pools the scores of every replica x every classifier seed, drops the bottom half and reports
mean +- std of the rest (Appendix A.4, :mod:`betavae.evaluation.protocol`). Baselines follow Appendix A.3:

- ground truth: the factor classes themselves;
- raw pixels;
- PCA: ten whitened principal components of the pixels, with the share of variance they explain;
- ICA: FastICA on whitened pixels, one model per pair of object identities (shape); the row is the
  average of the three models' pooled scores, its spread their standard deviation;
- untrained VAE: the trained models' architecture at initialisation, one replica per seed.

Every row records its training budget (steps, images seen, epochs over the dataset) and its number of
replicas, so a reader can tell a converged model from a CPU-budget one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from betavae.data.ground_truth import GroundTruthData
from betavae.evaluation import baselines, protocol
from betavae.evaluation.inference import representation_of
from betavae.evaluation.table import TableRow
from betavae.models import build_model

__all__ = ["LABELS", "Budget", "baseline_rows", "pooled_row", "protocol_title"]

LABELS = {
    "ground_truth": "Ground truth",
    "raw_pixels": "Raw pixels",
    "pca": "PCA",
    "ica": "ICA",
    "untrained_vae": "Untrained VAE",
}


@dataclass(frozen=True)
class Budget:
    """Training budget of a row: optimiser steps, images seen and epochs over the dataset."""

    steps: int = 0
    batch_size: int = 0
    dataset_size: int = 1

    @property
    def images_seen(self) -> int:
        return self.steps * self.batch_size

    @property
    def epochs(self) -> float:
        return self.images_seen / max(self.dataset_size, 1)


def pooled_row(
    data: GroundTruthData,
    label: str,
    replicas: Sequence[Any],
    *,
    metric: str,
    score: str,
    params: Mapping[str, Any],
    classifier_seeds: Sequence[int],
    keep_fraction: float,
    budget: Budget = Budget(),
    note: str = "",
    average_replicas: bool = False,
) -> tuple[TableRow, dict[str, Any]]:
    """One table row: the A.4 pooling over `replicas` x `classifier_seeds`.

    With `average_replicas` (the ICA row, A.3) each replica is pooled over its seeds on its own and the
    row reports the mean and standard deviation of the replicas' pooled scores.
    """
    common: dict[str, Any] = dict(
        classifier_seeds=list(classifier_seeds),
        metric=metric,
        score=score,
        params=dict(params),
        keep_fraction=keep_fraction,
    )
    if average_replicas and len(replicas) > 1:
        parts = [protocol.run(data, [r], **common) for r in replicas]
        means = np.array([p.mean for p in parts])
        mean, std = float(means.mean()), float(means.std())
        details: dict[str, Any] = {"mean": mean, "std": std, "per_replica": [p.as_dict() for p in parts]}
        num_scores = sum(len(p.scores) for p in parts)
    else:
        result = protocol.run(data, replicas, **common)
        mean, std, details, num_scores = result.mean, result.std, result.as_dict(), len(result.scores)
    row = TableRow(
        model=label,
        mean=mean,
        std=std,
        num_scores=num_scores,
        replicas=len(replicas),
        steps=budget.steps,
        images_seen=budget.images_seen,
        epochs=budget.epochs,
        note=note,
    )
    details.update(
        replicas=len(replicas), steps=budget.steps, images_seen=budget.images_seen, epochs=budget.epochs, note=note
    )
    return row, details


def untrained_replicas(data: GroundTruthData, model_config: Any, seeds: Sequence[int]) -> list[Any]:
    """The architecture of `model_config` at initialisation, one replica per seed (weights drawn by seed);
    for a conditional model, its unconditional architecture (no class to give an untrained encoder)."""
    out = []
    unconditional = dataclasses.replace(model_config, condition_on=None)
    for seed in seeds:
        torch.manual_seed(int(seed))
        model = build_model(unconditional, tuple(data.observation_shape)).eval()
        out.append(representation_of(model, int(data.max_pixel_value)))
    return out


def baseline_rows(
    data: GroundTruthData,
    names: Sequence[str],
    *,
    rng: np.random.Generator,
    metric: str,
    score: str,
    params: Mapping[str, Any],
    classifier_seeds: Sequence[int],
    keep_fraction: float,
    fit_samples: int,
    identity_factor: str = "shape",
    model_config: Any = None,
    untrained_seeds: Sequence[int] = (0,),
) -> tuple[list[TableRow], dict[str, Any]]:
    """The baseline rows named in `names` (keys of :data:`LABELS`), in that order."""
    rows, details = [], {}
    pooling: dict[str, Any] = dict(
        metric=metric, score=score, params=params, classifier_seeds=classifier_seeds, keep_fraction=keep_fraction
    )
    for name in names:
        note, average = "", False
        if name == "untrained_vae":
            if model_config is None:
                continue
            replicas = untrained_replicas(data, model_config, untrained_seeds)
            note = f"{model_config.architecture} at initialisation"
        elif name == "ica":
            replicas = baselines.ica_pairwise(data, rng, identity_factor=identity_factor, num_samples=fit_samples)
            average = True
            note = f"FastICA, 10 components; {len(replicas)} model(s) averaged: " + "; ".join(
                r.fitted_on for r in replicas
            )
        elif name == "pca":
            replicas = [baselines.pca(data, rng, num_samples=fit_samples)]
            note = f"10 whitened components explain {100 * replicas[0].explained_variance:.1f}% of pixel variance"
        else:
            replicas = [baselines.build(name, data, rng)]
        row, detail = pooled_row(data, LABELS[name], replicas, note=note, average_replicas=average, **pooling)
        if name == "pca":
            detail["explained_variance"] = replicas[0].explained_variance
        rows.append(row)
        details[row.model] = detail
    return rows, details


def protocol_title(
    metric: str, score: str, params: Mapping[str, Any], keep_fraction: float, classifier_seeds: Sequence[int]
) -> str:
    """One line saying which protocol made the table (for its Markdown title)."""
    from betavae.metrics import suite

    settings = suite.describe({metric: dict(params)})[metric]
    what = f"{metric}.{score}"
    if metric == "beta_vae":
        proto = settings.get("protocol", "locatello2019")
        if proto == "higgins2017":
            factors = ", ".join(settings["factors"]) or "all factors"
            what += (
                f", protocol higgins2017 (Higgins et al. 2017 A.4: y in {{{factors}}}, linear softmax "
                f"by Adagrad lr {settings['lr']:g}, L = {settings['batch_size']}, "
                f"{settings['num_train']} train / {settings['num_eval']} test points)"
            )
        else:
            what += (
                f", protocol locatello2019 (logistic regression over all factors, L = {settings['batch_size']}, "
                f"{settings['num_train']} train / {settings['num_eval']} test points)"
            )
    return (
        f"{what}; pooled by A.4 over replicas x {len(classifier_seeds)} classifier seeds, "
        f"best {100 * keep_fraction:g}% kept"
    )
