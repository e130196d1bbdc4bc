"""`train@<dataset>` stage: a Prefect flow that trains every configuration of the sweep.

    python -m pipelines.train dsprites            # what `dvc repro train@dsprites` runs

Locally each configuration is a Prefect task, one after another on this machine. With `deployment` set
(the retraining flow on GPU workers), each configuration becomes its own flow run of the `train-one`
deployment (:mod:`pipelines.fan_out`, :mod:`pipelines.train_one`), so N workers train N configurations
at once. The sweep's parent run, sealing and record are :mod:`betavae.tracking.sweep_run`.

Retries happen on infrastructure errors (a lost worker, an I/O failure), never on a diverged run: a
non-finite loss would diverge again, so it is recorded and the sweep goes on. A retried configuration
resumes from its last checkpoint when it lands on the machine that holds it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from betavae.config import EvaluateConfig, RunConfig
from betavae.data.storage import read_manifest
from betavae.errors import BetavaeError, TrainingDiverged
from betavae.tracking.runs_table import comparison_rows
from betavae.tracking.sweep_record import RunRecord
from betavae.tracking.sweep_run import SweepPlan, close_sweep, sweep_parent_run, train_in_sweep
from pipelines.artifacts import publish_sweep_artifacts
from pipelines.common import PATHS, ROOT, main_guard, params
from pipelines.dataset_arg import dataset_argument
from pipelines.fan_out import train_on_workers

ENTRY_POINT = "pipelines/train.py"  # the source MLflow shows for the sweep's parent run


def _retry_infrastructure_only(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect retry condition: retry unless the failure is a configuration or divergence error."""
    try:
        state.result()
    except (TrainingDiverged, BetavaeError):
        return False
    except Exception:
        return True
    return False


@task(
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=10,
    retry_condition_fn=_retry_infrastructure_only,
    task_run_name="train-{run.name}",
)
def train_configuration(run: RunConfig, experiment_id: str, parent_id: str, root: Path) -> RunRecord:
    record = train_in_sweep(run, root, experiment_id, parent_id)
    if not record.finished:
        get_run_logger().warning("%s %s: %s", run.name, record.status, record.failure_reason)
    return record


@flow(name="train-sweep", log_prints=True)
def train_sweep(
    dataset: str,
    root: str | None = None,
    overrides: dict[str, Any] | None = None,
    deployment: str | None = None,
    wait_timeout_s: float | None = None,
) -> str:
    """Train the sweep of `params.yaml` for `dataset` (optionally with `overrides` of its sections) and
    write `models/<dataset>/sweep.json`. Returns the MLflow id of the sweep's parent run.

    `deployment` (e.g. `train-one/train-one`) fans the configurations out over the workers of its pool;
    flow runs unfinished after `wait_timeout_s` seconds are cancelled and the sweep fails.
    """
    project = Path(root or ROOT)
    plan = SweepPlan.load(project, dataset, overrides)
    with sweep_parent_run(project, plan, ENTRY_POINT) as sweep:
        if deployment:
            records = train_on_workers(sweep, deployment, wait_timeout_s)
        else:
            records = [train_configuration(run, sweep.experiment_id, sweep.parent_run_id, project) for run in plan.runs]
    trained = close_sweep(sweep, records)
    publish_sweep_artifacts("train", dataset, trained, comparison_rows(trained.runs, {}), project)
    if not trained.finished:
        raise TrainingDiverged(f"every run of the sweep failed or diverged: {[r.failure_reason for r in records]}")
    return trained.parent_run_id


def check_before_training(dataset: str) -> None:
    """Every configuration of the sweep, and the evaluation's and a conditional model's factor names against
    the stored dataset's factors: a setting the evaluation would refuse stops the sweep before any training."""
    p = params()
    plan = SweepPlan.from_params(p, dataset)
    manifest = read_manifest(PATHS.dataset(dataset))
    if manifest["factor_names"]:  # a dataset without factors skips the factor metrics
        EvaluateConfig.from_dict(p.get("evaluate")).check_factor_names(manifest["factor_names"])
    plan.check_condition_factors(manifest["factor_names"])


def main() -> None:
    dataset = dataset_argument(sys.argv)
    main_guard(check_before_training, dataset)  # before a Prefect server starts
    main_guard(train_sweep, dataset, flow=True)


if __name__ == "__main__":
    main()
