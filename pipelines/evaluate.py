"""`evaluate` stage: a Prefect flow scoring every finished run of the sweep.

    python -m pipelines.evaluate

Each run's scores are logged to its MLflow run and written to `metrics/<dataset>/scores.json`, keyed by
run name, which `dvc metrics show` lists.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from pipelines.common import ROOT, main_guard


@task(cache_policy=NO_CACHE, task_run_name="evaluate-{record[name]}")
def evaluate_run(record: dict[str, Any], data: Any, cfg: Any, root: Path) -> dict[str, float]:
    from betavae.evaluation import evaluate_checkpoint
    from betavae.tracking import RunLogger, client_for

    scores = evaluate_checkpoint(Path(record["checkpoint"]), data, cfg)
    logger = RunLogger(client_for(root), record["run_id"])
    logger.log_metrics(scores, step=int(record["config"]["train"]["steps"]))
    logger.log_params({f"evaluate.{name}.{k}": v for name, kw in cfg.metrics.items() for k, v in kw.items()}
                      | {"evaluate.seed": cfg.seed})
    return scores


@flow(name="evaluate-sweep", log_prints=True)
def evaluate_sweep(root: str | None = None) -> dict[str, dict[str, float]]:
    from betavae.config import EvaluateConfig, load_params
    from betavae.data.storage import load_dataset
    from betavae.io import write_json
    from betavae.sweep import read_sweep_record, sweep_record_path

    project = Path(root or ROOT)
    p = load_params(project / "params.yaml")
    cfg = EvaluateConfig.from_dict(p.get("evaluate"))
    dataset = p["data"]["dataset"]
    sweep = read_sweep_record(sweep_record_path(project, dataset))
    data = load_dataset(project / "data" / "datasets" / dataset)
    scores = {}
    for record in sweep["runs"]:
        if record["status"] == "finished":
            scores[record["name"]] = evaluate_run(record, data, cfg, project)
            print(f"{record['name']}: " + ", ".join(f"{k}={v:.3f}" for k, v in sorted(scores[record['name']].items())))
    write_json(project / "metrics" / dataset / "scores.json", scores)
    return scores


def main() -> None:
    main_guard(evaluate_sweep)


if __name__ == "__main__":
    main()
