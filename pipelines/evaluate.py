"""`evaluate` stage: a Prefect flow scoring every finished run of the sweep, then the comparison table.

    python -m pipelines.evaluate dsprites

Each run's scores are logged to its MLflow run (:mod:`betavae.tracking.scores`) and written to
`metrics/<dataset>/scores.json`, keyed by run name, which `dvc metrics show` lists. UDR (Duan et al. 2020)
is computed across the seeds of each configuration. Runs with snapshots (`train.snapshots`) are scored at
each with `evaluate.snapshot_metrics` (:mod:`betavae.evaluation.over_training`): step metrics on the run
and `metrics/<dataset>/over_training.json`. The table of Higgins et al. 2017 Fig. 5 (left) goes
to `metrics/<dataset>/table.json` and `table.md` (:mod:`betavae.evaluation.outputs`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from betavae.config import EvaluateConfig
from betavae.config.per_dataset import checked_dataset
from betavae.config.whole import load_checked_params
from betavae.data.ground_truth import GroundTruthData
from betavae.data.storage import load_dataset
from betavae.evaluation.outputs import describe, scores_entry, write_table_files
from betavae.evaluation.over_training import Curve, run_curve, write_curves
from betavae.evaluation.scoring import ScoredRun, evaluate_checkpoint
from betavae.evaluation.sweep_table import ConfigurationRow, score_by_configuration
from betavae.evaluation.udr import udr_scores
from betavae.io import write_json
from betavae.metrics.requirements import missing_factors
from betavae.paths import ProjectPaths
from betavae.tracking.client import client_for
from betavae.tracking.runs_table import comparison_rows
from betavae.tracking.scores import log_curve, log_scores, log_selection
from betavae.tracking.sweep_record import RunRecord, read_sweep_record
from betavae.training.device import apply_num_threads
from pipelines.artifacts import publish_sweep_artifacts
from pipelines.common import ROOT, main_guard, params
from pipelines.dataset_arg import dataset_argument


@task(cache_policy=NO_CACHE, task_run_name="evaluate-{record.name}")
def evaluate_run(record: RunRecord, data: GroundTruthData, cfg: EvaluateConfig, root: Path) -> ScoredRun:
    scored = evaluate_checkpoint(Path(str(record.checkpoint)), data, cfg)
    log_scores(client_for(root), record.run_id, scored.scores, record.run.train.steps, cfg)
    return scored


@task(cache_policy=NO_CACHE, task_run_name="over-training-{record.name}")
def score_over_training(
    record: RunRecord, final_scores: dict[str, float], data: GroundTruthData, cfg: EvaluateConfig, root: Path
) -> Curve | None:
    curve = run_curve(record.name, record.run, Path(str(record.checkpoint)), final_scores, data, cfg)
    if curve is not None:
        log_curve(client_for(root), record.run_id, curve.points, record.run.train.steps)
    return curve


@task(cache_policy=NO_CACHE)
def build_table(
    data: GroundTruthData,
    scored: list[ScoredRun],
    cfg: EvaluateConfig,
    dataset: str,
    root: Path,
    configurations: list[ConfigurationRow],
) -> str:
    return write_table_files(ProjectPaths(root), dataset, data, scored, cfg, configurations)


@flow(name="evaluate-sweep", log_prints=True)
def evaluate_sweep(
    dataset: str, root: str | None = None, overrides: dict[str, Any] | None = None
) -> dict[str, dict[str, Any]]:
    project = Path(root or ROOT)
    paths = ProjectPaths(project)
    p = load_checked_params(paths.params_file, overrides)
    cfg = EvaluateConfig.from_dict(p.get("evaluate"))  # the table's settings too, before any model is scored
    apply_num_threads(cfg.num_threads)
    checked_dataset(p, dataset)
    sweep = read_sweep_record(paths.sweep_record(dataset))
    data = load_dataset(paths.dataset(dataset))
    scored, configurations = score_by_configuration(
        sweep.finished,
        lambda record: record.run,
        lambda record: evaluate_run(record, data, cfg, project),
        data,
        cfg,
        table=missing_factors(data) is None,
    )
    udr_scores(data, scored, cfg)
    scores = {}
    for record, result in zip(sweep.finished, scored, strict=True):
        log_selection(client_for(project), record.run_id, result.scores, result.notes, record.run.train.steps)
        scores[record.name] = scores_entry(result)
        print(describe(record.name, result))
    curves = [score_over_training(r, s.scores, data, cfg, project) for r, s in zip(sweep.finished, scored, strict=True)]
    write_curves(paths, dataset, [c for c in curves if c is not None])
    write_json(paths.scores(dataset), scores)
    print(build_table(data, scored, cfg, dataset, project, configurations))
    publish_sweep_artifacts("evaluate", dataset, sweep, comparison_rows(sweep.runs, scores), project)
    return scores


def main() -> None:
    dataset = dataset_argument(sys.argv)
    main_guard(lambda: EvaluateConfig.from_dict(params().get("evaluate")))  # before a Prefect server starts
    main_guard(evaluate_sweep, dataset, flow=True)


if __name__ == "__main__":
    main()
