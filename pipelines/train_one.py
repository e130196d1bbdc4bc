"""The `train-one` deployment's flow: one configuration of a sweep, trained on the GPU worker that picks it up.

The retraining flow's sweep submits one flow run per configuration (:mod:`pipelines.fan_out`) and reads
the outcomes back from MLflow (:mod:`betavae.tracking.worker_runs`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow

from betavae.config import RunConfig
from betavae.errors import ConfigError
from betavae.paths import ProjectPaths
from betavae.tracking.client import git_commit as checked_out_commit
from betavae.tracking.sweep_run import seal_run
from pipelines.common import ROOT, show_library_logs
from pipelines.data import ensure_dataset
from pipelines.train import train_configuration

#: A configuration that trains longer than this on a worker ends TimedOut (the paper budget of
#: Higgins et al. 2017 takes 1-2 h on one GPU).
TIMEOUT_S = 12 * 3600


def check_same_commit(project: Path, sweep_commit: str | None) -> None:
    """Refuse to train when this worker's clone is not at the commit the sweep was planned at: the run
    would train other code than the sweep's other configurations. ConfigError names both commits."""
    if sweep_commit is None:
        return
    here = checked_out_commit(project)
    if here != sweep_commit:
        raise ConfigError(
            f"this worker's clone {project} is at commit {here}, but the sweep was planned at {sweep_commit}; "
            "check that commit out on the worker (git fetch && git checkout) and restart it"
        )


@flow(name="train-one", log_prints=True, retries=1, retry_delay_seconds=5, timeout_seconds=TIMEOUT_S)
def train_one(
    run_config: dict[str, Any],
    experiment_id: str,
    parent_run_id: str,
    root: str | None = None,
    keep_checkpoints: bool = False,
    git_commit: str | None = None,
) -> dict[str, Any]:
    """Train one configuration of a sweep on this worker.

    The data comes from the worker's clone (pulled from the DVC remote when missing); the run is nested
    under the sweep's MLflow parent run. Once it finished, its weights are sealed into `models/<dataset>/weights/`.
    A worker whose clone is not at `git_commit` (the sweep's) refuses the run.
    """
    show_library_logs()
    project = Path(root or ROOT)
    check_same_commit(project, git_commit)
    run = RunConfig.from_dict(run_config)
    ensure_dataset(run.dataset, project)
    record = train_configuration.fn(run, experiment_id, parent_run_id, project)
    if record.finished:
        seal_run(ProjectPaths(project), record, keep_checkpoints)
    return record.to_dict()
