"""`evaluate` stage: a Prefect flow scoring every finished run of the sweep, then the comparison table.

    python -m pipelines.evaluate dsprites

Each run's scores are logged to its MLflow run and written to `metrics/<dataset>/scores.json`, keyed by
run name, which `dvc metrics show` lists; beside them, under `notes`, the estimator behind each score
and every metric that was skipped with the reason (also MLflow tags `betavae.estimator.*` and
`betavae.skipped.*`). UDR (Duan et al. 2020) is computed across the seeds of each configuration. The
table of Higgins et al. 2017 Fig. 5 (left) -- baselines and each configuration with its seeds pooled --
goes to `metrics/<dataset>/table.json` and `table.md`; on a dataset without ground-truth factors they
say why there is no table.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from betavae.config import EvaluateConfig
from pipelines.artifacts import publish_sweep_artifacts
from pipelines.common import ROOT, main_guard, params
from pipelines.dataset_arg import dataset_argument

if TYPE_CHECKING:
    from betavae.data.ground_truth import GroundTruthData
    from betavae.evaluation.scoring import ScoredRun
    from betavae.tracking.sweep_record import RunRecord


@task(cache_policy=NO_CACHE, task_run_name="evaluate-{record.name}")
def evaluate_run(record: RunRecord, data: GroundTruthData, cfg: EvaluateConfig, root: Path) -> ScoredRun:
    from betavae.evaluation.scoring import evaluate_checkpoint
    from betavae.tracking.client import RunLogger, client_for

    scored = evaluate_checkpoint(Path(record.checkpoint), data, cfg)
    logger = RunLogger(client_for(root), record.run_id)
    logger.log_metrics(scored.scores, step=record.run.train.steps)
    logger.log_params({f"evaluate.{name}.{k}": v for name, kw in cfg.metrics.items() for k, v in kw.items()}
                      | {"evaluate.seed": cfg.seed, "evaluate.profile": cfg.profile})
    return scored


def log_selection(record: RunRecord, scored: ScoredRun, root: Path) -> None:
    """UDR scores and the notes (estimators, skipped metrics with reasons) of one run, to MLflow."""
    from betavae.tracking.client import RunLogger, client_for

    logger = RunLogger(client_for(root), record.run_id)
    udr = {k: v for k, v in scored.scores.items() if k.startswith("udr.")}
    if udr:
        logger.log_metrics(udr, step=record.run.train.steps)
    logger.set_tags({f"betavae.{k}": v[:5000] for k, v in scored.notes.items()})


@task(cache_policy=NO_CACHE)
def build_table(data: GroundTruthData, scored: list[ScoredRun], cfg: EvaluateConfig, dataset: str,
                root: Path) -> str:
    from betavae.evaluation.comparison import comparison_table, table_title
    from betavae.evaluation.table import write_table
    from betavae.io import atomic_path, write_json
    from betavae.metrics.requirements import missing_factors
    from betavae.paths import ProjectPaths

    paths = ProjectPaths(root)
    out = paths.metrics(dataset)
    reason = missing_factors(data)
    if reason is not None:
        write_json(out / "table.json", {"dataset": dataset, "rows": [], "skipped": reason})
        write_json(paths.table_details(dataset), {"skipped": reason})
        with atomic_path(out / "table.md") as tmp:
            tmp.write_text(f"### No disentanglement table for {dataset}\n\nSkipped: {reason}.\n", encoding="utf-8")
        return (out / "table.md").read_text()
    rows, details = comparison_table(data, scored, cfg)
    _, md_path = write_table(paths.metrics_root, dataset, rows, score_name=f"{cfg.table.metric}.{cfg.table.score}",
                             protocol=table_title(cfg))
    write_json(paths.table_details(dataset), details)
    return md_path.read_text()


def reproducible(scores: dict[str, float]) -> dict[str, float]:
    """The scores without the evaluation's own timings (`*.seconds`, logged to MLflow only).

    `scores.json` is a dependency of render, register and report: an evaluation that reproduces the same
    scores must leave it byte for byte as it was, so that DVC does not re-run what follows.
    """
    return {k: v for k, v in scores.items() if not k.endswith(".seconds")}


@flow(name="evaluate-sweep", log_prints=True)
def evaluate_sweep(dataset: str, root: str | None = None,
                   overrides: dict[str, Any] | None = None) -> dict[str, dict[str, float]]:
    from betavae.config import load_params
    from betavae.config.per_dataset import apply_overrides, params_for
    from betavae.data.storage import load_dataset
    from betavae.evaluation.udr import udr_scores
    from betavae.io import write_json
    from betavae.paths import ProjectPaths
    from betavae.render.comparison import comparison_rows
    from betavae.tracking.sweep_record import read_sweep_record
    from betavae.training.device import apply_num_threads

    project = Path(root or ROOT)
    paths = ProjectPaths(project)
    p = apply_overrides(load_params(paths.params_file), overrides)
    cfg = EvaluateConfig.from_dict(p.get("evaluate"))  # the table's settings too, before any model is scored
    apply_num_threads(cfg.num_threads)
    params_for(p, dataset)
    sweep = read_sweep_record(paths.sweep_record(dataset))
    data = load_dataset(paths.dataset(dataset))
    scores, scored = {}, []
    for record in sweep.finished:
        scored.append(evaluate_run(record, data, cfg, project))
    udr_scores(data, scored, cfg)
    for record, result in zip(sweep.finished, scored, strict=True):
        log_selection(record, result, project)
        scores[record.name] = {**reproducible(result.scores), "notes": dict(sorted(result.notes.items()))}
        print(f"{record.name}: " + ", ".join(f"{k}={v:.3f}" for k, v in sorted(result.scores.items())
                                           if not k.startswith("reconstruction.kl.")))
        for key, note in sorted(result.notes.items()):
            print(f"  {key}: {note}")
    write_json(paths.scores(dataset), scores)
    print(build_table(data, scored, cfg, dataset, project))
    publish_sweep_artifacts("evaluate", dataset, sweep, comparison_rows(sweep.runs, scores), project)
    return scores


def _check_params() -> None:
    EvaluateConfig.from_dict(params().get("evaluate"))


def main() -> None:
    dataset = dataset_argument(sys.argv)
    main_guard(_check_params)
    main_guard(evaluate_sweep, dataset, flow=True)


if __name__ == "__main__":
    main()
