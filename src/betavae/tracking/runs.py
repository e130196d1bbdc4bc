"""Train one configuration of a sweep and record it in MLflow as a run nested under the sweep's parent:
parameters, step metrics, the checkpoint and the logged encoder model, or the reason it failed."""

from __future__ import annotations

import traceback
from pathlib import Path

import numpy as np
from mlflow.tracking import MlflowClient

from betavae.config import RunConfig
from betavae.data.protocols import ImageSet
from betavae.errors import TrainingDiverged
from betavae.paths import ProjectPaths
from betavae.tracking.client import RunLogger, git_commit, start_run
from betavae.tracking.model_package import log_model_package
from betavae.tracking.promotion import record_library_versions
from betavae.tracking.sweep_record import RunRecord
from betavae.tracking.ui import log_dataset, source_tags
from betavae.training.checkpoint import export_weights
from betavae.training.engine import TrainResult, train

DIGEST_TAG = "betavae.config_digest"
MODEL_URI_TAG = "betavae.model_uri"
OUTCOME_TAG = "betavae.outcome"


def _close_stale_runs(client: MlflowClient, experiment_id: str, digest: str) -> None:
    """Runs of this configuration left RUNNING by a killed process are marked KILLED before resuming."""
    stale = client.search_runs([experiment_id],
                               filter_string=f"tags.`{DIGEST_TAG}` = '{digest}' and attributes.status = 'RUNNING'")
    for old in stale:
        client.set_tag(old.info.run_id, "betavae.failure_reason", "process ended before the run finished")
        client.set_terminated(old.info.run_id, status="KILLED")


def train_and_track(run: RunConfig, data: ImageSet, *, root: Path, client: MlflowClient, experiment_id: str,
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
        **source_tags("pipelines/train.py", git_commit(root)),
        **record_library_versions(),
    })
    log_dataset(client, logger.run_id, data, run.dataset)
    logger.log_params(run.flat_params())
    ckpt_dir = ProjectPaths(root).run_checkpoints(run.dataset, run.name, run.digest)
    try:
        result: TrainResult = train(run, data, ckpt_dir, on_metrics=logger.log_metrics, progress=progress)
    except TrainingDiverged as exc:
        _record_failure(logger, str(exc), "diverged")
        return RunRecord(run.name, run.to_dict(), logger.run_id, "diverged", failure_reason=str(exc))
    except BaseException as exc:
        _record_failure(logger, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}", "failed")
        raise
    logger.set_tags({"betavae.device": result.device,
                     "betavae.resumed_from_step": result.resumed_from_step or 0})
    # MLflow keeps the inference-only weights inside the model package; the training checkpoint with the
    # optimiser state stays local (for resuming) and is thinned when the sweep is sealed.
    example = np.ascontiguousarray(data.images[:2])
    weights = export_weights(result.checkpoint, result.checkpoint.with_name("weights.pt"))
    model_uri = log_model_package(logger.run_id, weights, example, run.model.latent_dim)
    weights.unlink()
    logger.set_tags({MODEL_URI_TAG: model_uri, OUTCOME_TAG: "finished"})
    logger.finish("FINISHED")
    return RunRecord(run.name, run.to_dict(), logger.run_id, "finished", checkpoint=str(result.checkpoint),
                     model_uri=model_uri, final_terms=result.final_terms,
                     images_per_second=result.images_per_second, device=result.device)


def _record_failure(logger: RunLogger, reason: str, outcome: str) -> None:
    logger.set_tags({"betavae.failure_reason": reason[:5000], OUTCOME_TAG: outcome})
    logger.finish("FAILED")
