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
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from pipelines.common import ROOT, main_guard, params
from pipelines.dataset_arg import dataset_argument


@task(cache_policy=NO_CACHE, task_run_name="evaluate-{record[name]}")
def evaluate_run(record: dict[str, Any], data: Any, cfg: Any, root: Path) -> Any:
    from betavae.evaluation import evaluate_checkpoint
    from betavae.tracking import RunLogger, client_for

    scored = evaluate_checkpoint(Path(record["checkpoint"]), data, cfg)
    logger = RunLogger(client_for(root), record["run_id"])
    logger.log_metrics(scored.scores, step=int(record["config"]["train"]["steps"]))
    logger.log_params({f"evaluate.{name}.{k}": v for name, kw in cfg.metrics.items() for k, v in kw.items()}
                      | {"evaluate.seed": cfg.seed, "evaluate.profile": cfg.profile})
    return scored


@task(cache_policy=NO_CACHE)
def log_selection(record: dict[str, Any], scored: Any, root: Path) -> None:
    """UDR scores and the notes (estimators, skipped metrics with reasons) of one run, to MLflow."""
    from betavae.tracking import RunLogger, client_for

    logger = RunLogger(client_for(root), record["run_id"])
    udr = {k: v for k, v in scored.scores.items() if k.startswith("udr.")}
    if udr:
        logger.log_metrics(udr, step=int(record["config"]["train"]["steps"]))
    logger.set_tags({f"betavae.{k}": v[:5000] for k, v in scored.notes.items()})


@task(cache_policy=NO_CACHE)
def build_table(data: Any, scored: list[Any], cfg: Any, dataset: str, root: Path) -> str:
    from betavae.evaluation import TableConfig, comparison_table, table_title
    from betavae.io import atomic_path, write_json
    from betavae.metrics.requirements import missing_factors
    from betavae.metrics.table import write_table

    table = TableConfig.from_dict(cfg.table)
    reason = missing_factors(data)
    out = root / "metrics" / dataset
    if reason is not None:
        write_json(out / "table.json", {"dataset": dataset, "rows": [], "skipped": reason})
        write_json(out / "table_details.json", {"skipped": reason})
        with atomic_path(out / "table.md") as tmp:
            tmp.write_text(f"### No disentanglement table for {dataset}\n\nSkipped: {reason}.\n", encoding="utf-8")
        return (out / "table.md").read_text()
    rows, details = comparison_table(data, scored, cfg, table)
    _, md_path = write_table(root / "metrics", dataset, rows, score_name=f"{table.metric}.{table.score}",
                             protocol=table_title(cfg, table))
    write_json(out / "table_details.json", details)
    return md_path.read_text()


@flow(name="evaluate-sweep", log_prints=True)
def evaluate_sweep(dataset: str, root: str | None = None,
                   overrides: dict[str, Any] | None = None) -> dict[str, dict[str, float]]:
    from betavae.config import EvaluateConfig, load_params
    from betavae.data.storage import load_dataset
    from betavae.evaluation import TableConfig, udr_scores
    from betavae.io import write_json
    from betavae.per_dataset import apply_overrides, params_for
    from betavae.sweep import read_sweep_record, sweep_record_path
    from betavae.training.device import apply_num_threads

    project = Path(root or ROOT)
    p = apply_overrides(load_params(project / "params.yaml"), overrides)
    cfg = EvaluateConfig.from_dict(p.get("evaluate"))
    apply_num_threads(cfg.num_threads)
    TableConfig.from_dict(cfg.table)  # validate before the first model is scored
    params_for(p, dataset)
    sweep = read_sweep_record(sweep_record_path(project, dataset))
    data = load_dataset(project / "data" / "datasets" / dataset)
    scores, scored, records = {}, [], []
    for record in sweep["runs"]:
        if record["status"] == "finished":
            result = evaluate_run(record, data, cfg, project)
            scored.append(result)
            records.append(record)
    udr_scores(data, scored, cfg)
    for record, result in zip(records, scored, strict=True):
        log_selection(record, result, project)
        scores[record["name"]] = {**result.scores, "notes": dict(sorted(result.notes.items()))}
        print(f"{record['name']}: " + ", ".join(f"{k}={v:.3f}" for k, v in sorted(result.scores.items())
                                             if not k.startswith("reconstruction.kl.")))
        for key, note in sorted(result.notes.items()):
            print(f"  {key}: {note}")
    write_json(project / "metrics" / dataset / "scores.json", scores)
    print(build_table(data, scored, cfg, dataset, project))
    return scores


def _check_params() -> None:
    from betavae.config import EvaluateConfig
    from betavae.evaluation import TableConfig

    TableConfig.from_dict(EvaluateConfig.from_dict(params().get("evaluate")).table)


def main() -> None:
    dataset = dataset_argument(sys.argv)
    main_guard(_check_params)
    main_guard(evaluate_sweep, dataset, flow=True)


if __name__ == "__main__":
    main()
