"""A sweep's life in MLflow: its parent run, each configuration trained under it, the sealing of the
finished runs and the sweep record that hands them to the later stages.

    plan = SweepPlan.from_params(params, dataset)
    with sweep_parent_run(project, plan, source="pipelines/train.py") as sweep:
        records = [train_in_sweep(run, project, sweep.experiment_id, sweep.parent_run_id)
                   for run in plan.runs]
    trained = close_sweep(sweep, records)      # seals weights, ends the parent run, writes sweep.json

Configurations trained on other workers come back through :mod:`betavae.tracking.worker_runs`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlflow.tracking import MlflowClient

from betavae.config import RunConfig, SweepConfig, expand_sweep
from betavae.config.per_dataset import checked_dataset, keep_checkpoints
from betavae.config.whole import load_checked_params
from betavae.errors import ConfigError, DataError
from betavae.paths import ProjectPaths
from betavae.tracking.client import RunLogger, client_for, close_orphaned_runs, ensure_experiment, git_commit, start_run
from betavae.tracking.sweep_record import RunRecord, SweepRecord, write_sweep_record
from betavae.tracking.tags import DATASET_TAG, FAILURE_REASON_TAG, SWEEP_NAME_TAG, SWEEP_TAG
from betavae.tracking.ui import log_stored_dataset, source_tags, sweep_run_name

FAILURE_REASON_CHARS = 5000  # MLflow tag values hold at most 5000 characters


@dataclass(frozen=True)
class SweepPlan:
    """What a sweep of one dataset trains: every configuration (validated), the grid and the storage choice."""

    dataset: str
    runs: tuple[RunConfig, ...]
    sweep: SweepConfig
    keep_checkpoints: bool

    @classmethod
    def from_params(cls, params: Mapping[str, Any], dataset: str) -> SweepPlan:
        """The sweep of `params` for `dataset` (one of `data.train_on`); every configuration is validated
        before any work, so a bad value anywhere in the grid stops the sweep before the first run trains."""
        keep = keep_checkpoints(params)
        runs = expand_sweep(params, checked_dataset(params, dataset))
        return cls(dataset, tuple(runs), SweepConfig.from_dict(params.get("sweep")), keep)

    def check_condition_factors(self, factor_names: Sequence[str]) -> None:
        """A conditional model's factor (`model.condition_on`) must be one of the dataset's `factor_names`."""
        for factor in sorted({run.model.condition_on for run in self.runs if run.model.condition_on is not None}):
            if factor not in factor_names:
                raise ConfigError(
                    f"model.condition_on: dataset {self.dataset!r} has no factor {factor!r} to condition on; "
                    f"its factors: {', '.join(factor_names) or 'none'}"
                )

    @classmethod
    def load(cls, project: Path, dataset: str, overrides: Mapping[str, Any] | None = None) -> SweepPlan:
        """The sweep of the project's `params.yaml` with `overrides` of its sections (and `BETAVAE_DEVICE`)
        applied, every section checked first (:func:`betavae.config.whole.load_checked_params`)."""
        params = load_checked_params(ProjectPaths(project).params_file, overrides)
        return cls.from_params(params, dataset)


@dataclass(frozen=True)
class SweepRun:
    """An open sweep: the project, its plan, and the MLflow experiment and parent run it logs to."""

    paths: ProjectPaths
    plan: SweepPlan
    client: MlflowClient
    experiment_id: str
    parent: RunLogger

    @property
    def parent_run_id(self) -> str:
        return self.parent.run_id


@contextlib.contextmanager
def sweep_parent_run(project: Path, plan: SweepPlan, source: str) -> Iterator[SweepRun]:
    """Open the sweep's parent run in the experiment `betavae-<dataset>` for the block that trains it.

    Runs a killed earlier attempt left RUNNING end as KILLED first. The parent run carries the grid and
    seeds as parameters, the stored dataset as its input and `source` (the entry point) as its source. An
    exception (or Ctrl-C) inside the block tags the parent run with the reason and ends it FAILED; after a
    block that ends normally, :func:`close_sweep` ends it.
    """
    paths = ProjectPaths(project)
    dataset, sweep = plan.dataset, plan.sweep
    client = client_for(project)
    experiment_id = ensure_experiment(client, f"betavae-{dataset}", project)
    close_orphaned_runs(client, experiment_id)  # runs of a killed earlier attempt end as KILLED, not RUNNING
    parent = start_run(
        client,
        experiment_id,
        sweep_run_name(sweep.name, sweep.grid, sweep.seeds),
        tags={
            DATASET_TAG: dataset,
            SWEEP_TAG: "true",
            SWEEP_NAME_TAG: sweep.name,
            **source_tags(source, git_commit(project)),
        },
    )
    parent.log_params({f"sweep.grid.{k}": list(v) for k, v in sweep.grid.items()} | {"sweep.seeds": list(sweep.seeds)})
    try:
        log_stored_dataset(client, parent.run_id, paths.dataset(dataset), dataset)
        yield SweepRun(paths, plan, client, experiment_id, parent)
    except BaseException as exc:
        parent.set_tags({FAILURE_REASON_TAG: f"{type(exc).__name__}: {exc}"[:FAILURE_REASON_CHARS]})
        parent.finish("FAILED")
        raise


def train_in_sweep(run: RunConfig, project: Path, experiment_id: str, parent_id: str) -> RunRecord:
    """Train one configuration of a sweep in this process, nested under the parent run `parent_id`."""
    from betavae.data.storage import load_dataset
    from betavae.tracking.runs import train_and_track
    from betavae.training.device import apply_num_threads

    apply_num_threads(run.train.num_threads)
    data = load_dataset(ProjectPaths(project).dataset(run.dataset))
    return train_and_track(
        run, data, root=project, client=client_for(project), experiment_id=experiment_id, parent_id=parent_id
    )


def seal_run(paths: ProjectPaths, record: RunRecord, keep_training_state: bool) -> None:
    """Seal a finished run: its inference weights go to `models/<dataset>/weights/`, and the record points
    at them (:func:`betavae.training.checkpoint.seal_checkpoint`)."""
    from betavae.training.checkpoint import seal_checkpoint

    if record.checkpoint is None:
        raise DataError(f"run {record.name} is {record.status} but names no checkpoint to seal")
    run = record.run
    weights = paths.run_weights(run.dataset, record.name, run.digest)
    record.checkpoint = str(seal_checkpoint(Path(record.checkpoint), weights, keep_training_state))


def close_sweep(sweep: SweepRun, records: Sequence[RunRecord]) -> SweepRecord:
    """Seal every finished run, end the parent run (FINISHED if any run finished, else FAILED) with the
    counts of finished and diverged runs, and write `models/<dataset>/sweep.json`. Returns the record."""
    finished = [r for r in records if r.finished]
    for record in finished:
        seal_run(sweep.paths, record, sweep.plan.keep_checkpoints)
    sweep.parent.log_metrics({"runs_finished": len(finished), "runs_diverged": len(records) - len(finished)}, step=0)
    sweep.parent.finish("FINISHED" if finished else "FAILED")
    trained = SweepRecord(sweep.plan.dataset, sweep.experiment_id, sweep.parent_run_id, tuple(records))
    write_sweep_record(sweep.paths.sweep_record(sweep.plan.dataset), trained)
    return trained
