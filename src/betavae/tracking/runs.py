"""Train one configuration of a sweep and record it in MLflow as a run nested under the sweep's parent.

The record of each run (its MLflow id, checkpoint, logged model and status) is what the evaluate, render
and register stages read back from `models/<dataset>/sweep.json`.
"""

from __future__ import annotations

import os
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from mlflow.tracking import MlflowClient

from betavae.config import RunConfig
from betavae.errors import TrainingDiverged
from betavae.io import read_json, write_json
from betavae.tracking.client import RunLogger, git_commit, start_run
from betavae.training.checkpoint import export_weights
from betavae.training.engine import TrainResult, train

DIGEST_TAG = "betavae.config_digest"
MODEL_ARTIFACT = "model"
PACKAGE_DIR = Path(__file__).resolve().parent.parent
ENCODER_MODEL_FILE = PACKAGE_DIR / "serving" / "encoder_model.py"


@dataclass
class RunRecord:
    """One configuration's outcome, as written to `sweep.json`."""

    name: str
    config: dict[str, Any]
    run_id: str
    status: str  # finished | diverged | failed
    checkpoint: str | None = None
    model_uri: str | None = None
    final_terms: dict[str, float] = field(default_factory=dict)
    images_per_second: float | None = None
    device: str | None = None
    failure_reason: str | None = None


def checkpoint_dir_for(root: Path, run: RunConfig) -> Path:
    """`models/<dataset>/checkpoints/<run name>-<config digest>/`: resumable across interrupted sweeps."""
    return root / "models" / run.dataset / "checkpoints" / f"{run.name}-{run.digest}"


def seal_checkpoint(last: Path) -> Path:
    """Rename a finished run's `last.pt` to `final.pt` once its whole sweep has finished.

    Until then an interrupted sweep resumes every run from its `last.pt` (a finished run is not trained
    again); afterwards a re-run of the stage, for example after a code change, trains from scratch.
    """
    final = last.with_name("final.pt")
    if last.exists():
        os.replace(last, final)
    return final


def _close_stale_runs(client: MlflowClient, experiment_id: str, digest: str) -> None:
    """Runs of this configuration left RUNNING by a killed process are marked KILLED before resuming."""
    stale = client.search_runs([experiment_id],
                               filter_string=f"tags.`{DIGEST_TAG}` = '{digest}' and attributes.status = 'RUNNING'")
    for old in stale:
        client.set_tag(old.info.run_id, "betavae.failure_reason", "process ended before the run finished")
        client.set_terminated(old.info.run_id, status="KILLED")


def log_encoder_model(run_id: str, checkpoint: Path, example: np.ndarray) -> str:
    """Log the pyfunc encoder (code + checkpoint, nothing pickled) to `run_id`; returns its model URI."""
    import mlflow

    with mlflow.start_run(run_id=run_id), warnings.catch_warnings():
        # The schema comes from the input example; MLflow's type-hint advice does not apply to arrays.
        warnings.filterwarnings("ignore", message=".*type hint.*", category=UserWarning)
        info = mlflow.pyfunc.log_model(
            name=MODEL_ARTIFACT,
            python_model=str(ENCODER_MODEL_FILE),
            artifacts={"checkpoint": str(checkpoint)},
            code_paths=[str(PACKAGE_DIR)],
            input_example=example,
            pip_requirements=["torch", "numpy", "pandas", "pyarrow", "pyyaml", "tqdm", "mlflow"],
        )
    return info.model_uri


def train_and_track(run: RunConfig, data: Any, *, root: Path, client: MlflowClient, experiment_id: str,
                    parent_id: str, progress: bool = True) -> RunRecord:
    """Train `run` on `data`, logging params, step metrics, checkpoint and model to a nested MLflow run.

    A diverged run is recorded (status FAILED with the reason as a tag) and reported with status
    `diverged`; any other error is recorded the same way and re-raised, so the orchestrator can retry it.
    """
    _close_stale_runs(client, experiment_id, run.digest)
    logger = start_run(client, experiment_id, run.name, parent_id=parent_id, tags={
        DIGEST_TAG: run.digest,
        "betavae.dataset": run.dataset,
        "betavae.dataset_digest": getattr(data, "digest", ""),
        "betavae.objective": run.objective.objective,
        "mlflow.source.git.commit": git_commit(root),
    })
    logger.log_params(run.flat_params())
    ckpt_dir = checkpoint_dir_for(root, run)
    try:
        result: TrainResult = train(run, data, ckpt_dir, on_metrics=logger.log_metrics, progress=progress)
    except TrainingDiverged as exc:
        _record_failure(logger, str(exc))
        return RunRecord(run.name, run.to_dict(), logger.run_id, "diverged", failure_reason=str(exc))
    except BaseException as exc:
        _record_failure(logger, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}")
        raise
    logger.set_tags({"betavae.device": result.device,
                     "betavae.resumed_from_step": result.resumed_from_step or 0})
    logger.log_artifact(result.checkpoint, "checkpoint")
    example = np.ascontiguousarray(data.images[:2])
    weights = export_weights(result.checkpoint, result.checkpoint.with_name("weights.pt"))
    model_uri = log_encoder_model(logger.run_id, weights, example)
    logger.finish("FINISHED")
    return RunRecord(run.name, run.to_dict(), logger.run_id, "finished", checkpoint=str(result.checkpoint),
                     model_uri=model_uri, final_terms=result.final_terms,
                     images_per_second=result.images_per_second, device=result.device)


def _record_failure(logger: RunLogger, reason: str) -> None:
    logger.set_tags({"betavae.failure_reason": reason[:5000]})
    logger.finish("FAILED")


def sweep_record_path(root: Path, dataset: str) -> Path:
    return root / "models" / dataset / "sweep.json"


def write_sweep_record(path: Path, *, dataset: str, experiment_id: str, parent_run_id: str,
                       records: list[RunRecord]) -> Path:
    return write_json(path, {
        "dataset": dataset,
        "experiment_id": experiment_id,
        "parent_run_id": parent_run_id,
        "runs": [r.__dict__ for r in records],
    })


def read_sweep_record(path: Path) -> dict[str, Any]:
    from betavae.errors import DataError

    if not path.is_file():
        raise DataError(f"no sweep record at {path}; run the train stage first (dvc repro train)")
    return read_json(path)
