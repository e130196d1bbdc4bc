"""Scores over training: each run's snapshots (`train.snapshots`) scored with `evaluate.snapshot_metrics`.

A run's curve is its snapshots in step order followed by its final weights, whose point is taken from the
run's full evaluation (the same profile settings and seed), so the last point of every curve is the score
`scores.json` reports. The curves go to `metrics/<dataset>/over_training.json` for the render stage
(mean and spread per configuration, :mod:`betavae.render.over_training`) and, one file per run, to
`metrics/<dataset>/over_training/<run>.json` for `dvc plots show`.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from betavae.config import EvaluateConfig, RunConfig
from betavae.data.ground_truth import GroundTruthData
from betavae.data.split import held_out
from betavae.evaluation import reconstruction
from betavae.evaluation.inference import representation_of
from betavae.io import replace_dir, write_json
from betavae.metrics import requirements, suite
from betavae.paths import ProjectPaths, snapshot_files, snapshot_step
from betavae.training.checkpoint import model_from_checkpoint


@dataclass(frozen=True)
class Curve:
    """One run's scores against training: points of {step, images, <score>: value} in step order."""

    run_name: str
    run: RunConfig
    points: tuple[dict[str, float], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run_name, "config": self.run.to_dict(), "points": list(self.points)}


def _chosen(scores: Mapping[str, float], metrics: Mapping[str, Any], with_reconstruction: bool) -> dict[str, float]:
    prefixes = tuple(f"{name}." for name in metrics) + (("reconstruction.",) if with_reconstruction else ())
    return {
        k: float(v)
        for k, v in scores.items()
        if k.startswith(prefixes) and not k.endswith(".seconds") and not k.startswith("reconstruction.kl.")
    }


def score_snapshot(path: Path, data: GroundTruthData, cfg: EvaluateConfig) -> dict[str, float]:
    """The `evaluate.snapshot_metrics` of one snapshot, with the evaluation's seed (as the final scores)."""
    metrics, with_reconstruction = cfg.snapshot_settings()
    model, _ = model_from_checkpoint(path)
    scores: dict[str, float] = {}
    if metrics and requirements.missing_factors(data) is None:
        source = suite.code_source(
            data, representation_of(model, int(data.max_pixel_value), factor_names=data.factor_names), metrics
        )
        scores.update(suite.evaluate(data, source, np.random.default_rng(cfg.seed), metrics))
    if with_reconstruction and cfg.reconstruction_samples:
        rec = reconstruction.compute(  # on the test split, as the final scores
            model, held_out(data), np.random.default_rng(cfg.seed + 1), num_samples=cfg.reconstruction_samples
        )
        scores.update({f"reconstruction.{k}": float(v) for k, v in rec.items()})
    return _chosen(scores, metrics, with_reconstruction)


def run_curve(
    run_name: str,
    run: RunConfig,
    weights: Path,
    final_scores: Mapping[str, float],
    data: GroundTruthData,
    cfg: EvaluateConfig,
) -> Curve | None:
    """The curve of one finished run: its snapshots scored now, then its final scores; None without
    snapshots or without `evaluate.snapshot_metrics`."""
    metrics, with_reconstruction = cfg.snapshot_settings()
    files = snapshot_files(weights)
    if not files or not (metrics or with_reconstruction):
        return None
    batch = run.train.batch_size
    points = [
        {"step": snapshot_step(path), "images": snapshot_step(path) * batch, **score_snapshot(path, data, cfg)}
        for path in files
    ]
    final = _chosen(final_scores, metrics, with_reconstruction)
    points.append({"step": run.train.steps, "images": run.train.steps * batch, **final})
    return Curve(run_name, run, tuple(points))


def write_curves(paths: ProjectPaths, dataset: str, curves: Sequence[Curve]) -> Path:
    """`metrics/<dataset>/over_training.json` (every curve) and `over_training/<run>.json` (one per run,
    the rows `dvc plots` draws); both are rewritten whole, so a run gone from the sweep leaves no file."""
    folder = paths.over_training_runs(dataset)
    staging = folder.parent / f".{folder.name}.new"
    if staging.exists():
        shutil.rmtree(staging)  # left by a killed earlier attempt
    staging.mkdir(parents=True)
    for curve in curves:
        write_json(staging / f"{curve.run_name}.json", list(curve.points))
    replace_dir(staging, folder)
    return write_json(paths.over_training(dataset), {"dataset": dataset, "runs": [c.to_dict() for c in curves]})
