"""Train one configuration of a sweep and record it in MLflow as a run nested under the sweep's parent:
parameters, step metrics, the checkpoint and the logged encoder model, or the reason it failed."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

import numpy as np
from mlflow.tracking import MlflowClient

from betavae.config import RunConfig
from betavae.data.protocols import ImageSet
from betavae.errors import TrainingDiverged
from betavae.paths import SNAPSHOTS_DIR, WEIGHTS_FILE, ProjectPaths
from betavae.tracking.client import RunLogger, close_orphaned_runs, git_commit, heartbeat_value, start_run
from betavae.tracking.model_package import log_model_package
from betavae.tracking.promotion import record_library_versions
from betavae.tracking.shared_state import fetch_training_state, shares_training_state, upload_training_state
from betavae.tracking.sweep_record import RunRecord
from betavae.tracking.tags import (
    CONFIG_DIGEST_TAG,
    DATASET_DIGEST_TAG,
    DATASET_TAG,
    DEVICE_TAG,
    FAILURE_REASON_TAG,
    HEARTBEAT_TAG,
    MODEL_URI_TAG,
    OBJECTIVE_TAG,
    OUTCOME_TAG,
    RESUMED_FROM_STEP_TAG,
)
from betavae.tracking.ui import log_dataset, source_tags
from betavae.training.checkpoint import export_weights
from betavae.training.engine import TrainResult, train

#: `betavae.tracking.runs`: where a configuration trains, what it resumed from, how it ended (a Prefect
#: worker with `PREFECT_LOGGING_EXTRA_LOGGERS=betavae` shows these lines in the flow run's log).
log = logging.getLogger(__name__)


def train_and_track(
    run: RunConfig,
    data: ImageSet,
    *,
    root: Path,
    client: MlflowClient,
    experiment_id: str,
    parent_id: str,
    progress: bool = True,
) -> RunRecord:
    """Train `run` on `data`, logging params, step metrics, checkpoint and model to a nested MLflow run.

    A diverged run is recorded (status FAILED with the reason as a tag) and reported with status
    `diverged`; any other error is recorded the same way and re-raised, so the orchestrator can retry it.

    Earlier runs of this configuration left RUNNING are closed as KILLED first, but only those whose owning
    process is gone (:func:`~betavae.tracking.client.orphan_reason`): a retry started while the first
    attempt still trains on another worker leaves that attempt alone. The run's heartbeat is refreshed at
    every logging point of the training loop.
    """
    close_orphaned_runs(client, experiment_id, tags={CONFIG_DIGEST_TAG: run.digest})
    ckpt_dir = ProjectPaths(root).run_checkpoints(run.dataset, run.name, run.digest)
    shared = shares_training_state(client.tracking_uri)
    if shared:  # a resubmitted configuration resumes from another worker's last checkpoint
        fetched_from = fetch_training_state(client, experiment_id, parent_id, run.digest, ckpt_dir)
        if fetched_from is not None:
            log.info("%s: fetched the training state of attempt %s from the tracking store", run.name, fetched_from)
    logger = start_run(
        client,
        experiment_id,
        run.name,
        parent_id=parent_id,
        heartbeat=True,
        tags={
            CONFIG_DIGEST_TAG: run.digest,
            DATASET_TAG: run.dataset,
            DATASET_DIGEST_TAG: getattr(data, "digest", ""),
            OBJECTIVE_TAG: run.objective.objective,
            **source_tags("pipelines/train.py", git_commit(root)),
            **record_library_versions(),
        },
    )
    log_dataset(client, logger.run_id, data, run.dataset)
    logger.log_params(run.flat_params())
    log.info("%s: training %d steps as MLflow run %s in %s", run.name, run.train.steps, logger.run_id, root)
    try:
        result: TrainResult = train(
            run,
            data,
            ckpt_dir,
            progress=progress,
            on_metrics=lambda terms, step: logger.log_metrics(terms, step, heartbeat=True),
            on_checkpoint=(lambda folder, step: upload_training_state(client, logger.run_id, folder))
            if shared
            else None,
        )
    except TrainingDiverged as exc:
        log.warning("%s: diverged: %s", run.name, exc)
        _record_failure(logger, str(exc), "diverged")
        return RunRecord(run.name, run.to_dict(), logger.run_id, "diverged", failure_reason=str(exc))
    except BaseException as exc:
        _record_failure(logger, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}", "failed")
        raise
    log.info(
        "%s: finished on %s%s",
        run.name,
        result.device,
        f", resumed from step {result.resumed_from_step}" if result.resumed_from_step else "",
    )
    logger.set_tags(
        {
            DEVICE_TAG: result.device,
            RESUMED_FROM_STEP_TAG: result.resumed_from_step or 0,
            HEARTBEAT_TAG: heartbeat_value(),
        }
    )
    # MLflow keeps the inference-only weights inside the model package; the training checkpoint with the
    # optimiser state stays local (for resuming; with a tracking server also under `training_state/`) and
    # is thinned when the sweep is sealed.
    example = np.ascontiguousarray(data.images[:2])
    weights = export_weights(result.checkpoint, result.checkpoint.with_name(WEIGHTS_FILE))
    model_uri = log_model_package(logger.run_id, weights, example, run.model.latent_dim)
    weights.unlink()
    snapshots = result.checkpoint.with_name(SNAPSHOTS_DIR)
    if snapshots.is_dir():  # so the orchestrator of a fanned-out sweep can score them too
        client.log_artifacts(logger.run_id, str(snapshots), SNAPSHOTS_DIR)
    logger.set_tags({MODEL_URI_TAG: model_uri, OUTCOME_TAG: "finished"})
    logger.finish("FINISHED")
    return RunRecord(
        run.name,
        run.to_dict(),
        logger.run_id,
        "finished",
        checkpoint=str(result.checkpoint),
        model_uri=model_uri,
        final_terms=result.final_terms,
        images_per_second=result.images_per_second,
        device=result.device,
    )


def _record_failure(logger: RunLogger, reason: str, outcome: str) -> None:
    logger.set_tags({FAILURE_REASON_TAG: reason[:5000], OUTCOME_TAG: outcome})
    logger.finish("FAILED")
