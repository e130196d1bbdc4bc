"""`train@<dataset>` stage: a Prefect flow that trains every configuration of the sweep.

    python -m pipelines.train dsprites            # what `dvc repro train@dsprites` runs

Locally each configuration is a Prefect task, one after another on this machine. With `deployment` set
(the retraining flow on GPU workers), each configuration becomes its own flow run of the `train-one`
deployment, submitted with `prefect.deployments.run_deployment`, so N workers train N configurations at
once; the sweep waits for all of them and reads their outcomes back from MLflow.

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

from betavae.config import RunConfig
from betavae.errors import BetavaeError, TrainingDiverged
from betavae.tracking.sweep_record import RunRecord
from pipelines.common import ROOT, main_guard
from pipelines.dataset_arg import dataset_argument


def _retry_infrastructure_only(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect retry condition: retry unless the failure is a configuration or divergence error."""
    try:
        state.result()
    except (TrainingDiverged, BetavaeError):
        return False
    except Exception:
        return True
    return False


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=10, retry_condition_fn=_retry_infrastructure_only,
      task_run_name="train-{run.name}")
def train_configuration(run: RunConfig, experiment_id: str, parent_id: str, root: Path) -> RunRecord:
    from betavae.data.storage import load_dataset
    from betavae.paths import ProjectPaths
    from betavae.tracking.client import client_for
    from betavae.tracking.runs import train_and_track
    from betavae.training.device import apply_num_threads

    apply_num_threads(run.train.num_threads)
    data = load_dataset(ProjectPaths(root).dataset(run.dataset))
    record = train_and_track(run, data, root=root, client=client_for(root), experiment_id=experiment_id,
                             parent_id=parent_id)
    if not record.finished:
        get_run_logger().warning("%s %s: %s", run.name, record.status, record.failure_reason)
    return record


@flow(name="train-one", log_prints=True, retries=1, retry_delay_seconds=5)
def train_one(run_config: dict[str, Any], experiment_id: str, parent_run_id: str, root: str | None = None,
              keep_checkpoints: bool = False) -> dict[str, Any]:
    """Train one configuration of a sweep on this worker (the `train-one` deployment's flow).

    The data comes from the worker's clone (pulled from the DVC remote when missing); the run is nested
    under the sweep's MLflow parent run. Once it finished, its weights are sealed into `models/<dataset>/weights/`.
    """
    from betavae.paths import ProjectPaths
    from betavae.training.checkpoint import seal_checkpoint
    from pipelines.data import ensure_dataset

    project = Path(root or ROOT)
    run = RunConfig.from_dict(run_config)
    ensure_dataset(run.dataset, project)
    record = train_configuration.fn(run, experiment_id, parent_run_id, project)
    if record.finished:
        weights = ProjectPaths(project).run_weights(run.dataset, run.name, run.digest)
        record.checkpoint = str(seal_checkpoint(Path(record.checkpoint), weights, keep_checkpoints))
    return record.to_dict()


@flow(name="train-sweep", log_prints=True)
def train_sweep(dataset: str, root: str | None = None, overrides: dict[str, Any] | None = None,
                deployment: str | None = None) -> str:
    """Train the sweep of `params.yaml` for `dataset` (optionally with `overrides` of its sections) and
    write `models/<dataset>/sweep.json`. Returns the MLflow id of the sweep's parent run.

    `deployment` (e.g. `train-one/train-one`) fans the configurations out over the workers of its pool.
    """
    from betavae.config import SweepConfig, expand_sweep, load_params
    from betavae.config.per_dataset import apply_overrides, keep_checkpoints, params_for
    from betavae.paths import ProjectPaths
    from betavae.render.comparison import comparison_rows
    from betavae.tracking.client import (
        client_for,
        close_orphaned_runs,
        ensure_experiment,
        git_commit,
        start_run,
    )
    from betavae.tracking.sweep_record import SweepRecord, write_sweep_record
    from betavae.tracking.ui import log_stored_dataset, source_tags, sweep_run_name
    from betavae.training.checkpoint import seal_checkpoint
    from pipelines.artifacts import publish_sweep_artifacts

    project = Path(root or ROOT)
    paths = ProjectPaths(project)
    p = apply_overrides(load_params(paths.params_file), overrides)
    keep = keep_checkpoints(p)
    p = params_for(p, dataset)
    runs = expand_sweep(p)  # validates every configuration before any work
    sweep = SweepConfig.from_dict(p.get("sweep"))
    client = client_for(project)
    experiment_id = ensure_experiment(client, f"betavae-{dataset}", project)
    close_orphaned_runs(client, experiment_id)  # runs of a killed earlier attempt end as KILLED, not RUNNING
    parent = start_run(client, experiment_id, sweep_run_name(sweep.name, sweep.grid, sweep.seeds), tags={
        "betavae.dataset": dataset, "betavae.sweep": "true", "betavae.sweep_name": sweep.name,
        **source_tags("pipelines/train.py", git_commit(project))})
    parent.log_params({f"sweep.grid.{k}": list(v) for k, v in sweep.grid.items()} | {"sweep.seeds": list(sweep.seeds)})
    try:
        log_stored_dataset(client, parent.run_id, paths.dataset(dataset), dataset)
        if deployment:
            from pipelines.fan_out import train_on_workers

            records = train_on_workers(runs, deployment, client=client, experiment_id=experiment_id,
                                       parent_id=parent.run_id, root=project, keep_checkpoints=keep)
        else:
            records = [train_configuration(run, experiment_id, parent.run_id, project) for run in runs]
    except BaseException as exc:
        parent.set_tags({"betavae.failure_reason": f"{type(exc).__name__}: {exc}"[:5000]})
        parent.finish("FAILED")
        raise
    finished = [r for r in records if r.finished]
    for record in finished:
        weights = paths.run_weights(dataset, record.name, record.run.digest)
        record.checkpoint = str(seal_checkpoint(Path(record.checkpoint), weights, keep))
    parent.log_metrics({"runs_finished": len(finished), "runs_diverged": len(records) - len(finished)}, step=0)
    parent.finish("FINISHED" if finished else "FAILED")
    trained = SweepRecord(dataset, experiment_id, parent.run_id, tuple(records))
    write_sweep_record(paths.sweep_record(dataset), trained)
    publish_sweep_artifacts("train", dataset, trained, comparison_rows(trained.runs, {}), project)
    if not finished:
        raise TrainingDiverged(f"every run of the sweep failed or diverged: {[r.failure_reason for r in records]}")
    return parent.run_id


def _check_params(dataset: str) -> None:
    """Validate every configuration of the sweep before a Prefect server is even started."""
    from betavae.config import expand_sweep, load_params
    from betavae.config.per_dataset import keep_checkpoints, params_for

    p = load_params(ROOT / "params.yaml")
    keep_checkpoints(p)
    expand_sweep(params_for(p, dataset))


def main() -> None:
    dataset = dataset_argument(sys.argv)
    main_guard(_check_params, dataset)
    main_guard(train_sweep, dataset, flow=True)


if __name__ == "__main__":
    main()
