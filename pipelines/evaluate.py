"""`evaluate` stage: a Prefect flow scoring every finished run of the sweep, then the comparison table.

    python -m pipelines.evaluate

Each run's scores are logged to its MLflow run and written to `metrics/<dataset>/scores.json`, keyed by
run name, which `dvc metrics show` lists. The table of Higgins et al. 2017 Fig. 5 (left) -- baselines
and each configuration with its seeds pooled -- goes to `metrics/<dataset>/table.json` and `table.md`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from pipelines.common import ROOT, main_guard, params


@task(cache_policy=NO_CACHE, task_run_name="evaluate-{record[name]}")
def evaluate_run(record: dict[str, Any], data: Any, cfg: Any, root: Path) -> Any:
    from betavae.evaluation.scoring import evaluate_checkpoint
    from betavae.tracking.client import RunLogger, client_for

    scored = evaluate_checkpoint(Path(record["checkpoint"]), data, cfg)
    logger = RunLogger(client_for(root), record["run_id"])
    logger.log_metrics(scored.scores, step=int(record["config"]["train"]["steps"]))
    logger.log_params({f"evaluate.{name}.{k}": v for name, kw in cfg.metrics.items() for k, v in kw.items()}
                      | {"evaluate.seed": cfg.seed, "evaluate.profile": cfg.profile})
    return scored


@task(cache_policy=NO_CACHE)
def build_table(data: Any, scored: list[Any], cfg: Any, dataset: str, root: Path) -> str:
    from betavae.evaluation.scoring import TableConfig, comparison_table
    from betavae.io import write_json
    from betavae.evaluation.table import write_table

    table = TableConfig.from_dict(cfg.table)
    rows, details = comparison_table(data, scored, cfg, table)
    _, md_path = write_table(root / "metrics", dataset, rows,
                             score_name=f"{table.metric}.{table.score} (A.4 protocol)")
    write_json(root / "metrics" / dataset / "table_details.json", details)
    return md_path.read_text()


@flow(name="evaluate-sweep", log_prints=True)
def evaluate_sweep(root: str | None = None) -> dict[str, dict[str, float]]:
    from betavae.config import EvaluateConfig, load_params
    from betavae.data.storage import load_dataset
    from betavae.evaluation.scoring import TableConfig
    from betavae.io import write_json
    from betavae.tracking.runs import read_sweep_record, sweep_record_path

    project = Path(root or ROOT)
    p = load_params(project / "params.yaml")
    cfg = EvaluateConfig.from_dict(p.get("evaluate"))
    TableConfig.from_dict(cfg.table)  # validate before the first model is scored
    dataset = p["data"]["dataset"]
    sweep = read_sweep_record(sweep_record_path(project, dataset))
    data = load_dataset(project / "data" / "datasets" / dataset)
    scores, scored = {}, []
    for record in sweep["runs"]:
        if record["status"] == "finished":
            result = evaluate_run(record, data, cfg, project)
            scored.append(result)
            scores[record["name"]] = result.scores
            print(f"{record['name']}: " + ", ".join(f"{k}={v:.3f}" for k, v in sorted(result.scores.items())
                                                 if not k.startswith("reconstruction.kl.")))
    write_json(project / "metrics" / dataset / "scores.json", scores)
    print(build_table(data, scored, cfg, dataset, project))
    return scores


def _check_params() -> None:
    from betavae.config import EvaluateConfig
    from betavae.evaluation.scoring import TableConfig

    TableConfig.from_dict(EvaluateConfig.from_dict(params().get("evaluate")).table)


def main() -> None:
    main_guard(_check_params)
    main_guard(evaluate_sweep)


if __name__ == "__main__":
    main()
