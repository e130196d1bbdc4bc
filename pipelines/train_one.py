"""The `train-one` deployment's flow: one configuration of a sweep, trained on the GPU worker that picks it up.

The retraining flow's sweep submits one flow run per configuration (:mod:`pipelines.fan_out`) and reads
the outcomes back from MLflow (:mod:`betavae.tracking.worker_runs`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow

from betavae.config import RunConfig
from betavae.paths import ProjectPaths
from betavae.tracking.sweep_run import seal_run
from pipelines.common import ROOT
from pipelines.data import ensure_dataset
from pipelines.train import train_configuration


@flow(name="train-one", log_prints=True, retries=1, retry_delay_seconds=5)
def train_one(
    run_config: dict[str, Any],
    experiment_id: str,
    parent_run_id: str,
    root: str | None = None,
    keep_checkpoints: bool = False,
) -> dict[str, Any]:
    """Train one configuration of a sweep on this worker.

    The data comes from the worker's clone (pulled from the DVC remote when missing); the run is nested
    under the sweep's MLflow parent run. Once it finished, its weights are sealed into `models/<dataset>/weights/`.
    """
    project = Path(root or ROOT)
    run = RunConfig.from_dict(run_config)
    ensure_dataset(run.dataset, project)
    record = train_configuration.fn(run, experiment_id, parent_run_id, project)
    if record.finished:
        seal_run(ProjectPaths(project), record, keep_checkpoints)
    return record.to_dict()
