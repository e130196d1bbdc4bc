"""Configurations trained on other workers, read back from MLflow into the sweep's :class:`RunRecord`s.

Each configuration a worker trains is an MLflow run nested under the sweep's parent run and tagged with
its config digest and outcome (:func:`betavae.tracking.runs.train_and_track`). The orchestrating machine
finds it by those tags, and takes the run's inference weights from its own clone when it holds them, or
else downloads them from the logged model.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from mlflow.entities import Run
from mlflow.tracking import MlflowClient

from betavae.config import RunConfig
from betavae.paths import SNAPSHOTS_DIR, WEIGHTS_FILE, ProjectPaths
from betavae.tracking.sweep_record import RunRecord
from betavae.tracking.tags import (
    CONFIG_DIGEST_TAG,
    DEVICE_TAG,
    FAILURE_REASON_TAG,
    MODEL_URI_TAG,
    OUTCOME_TAG,
    PARENT_RUN_TAG,
)


def find_worker_run(client: MlflowClient, experiment_id: str, parent_id: str, digest: str) -> Run | None:
    """The latest MLflow run of the configuration with `digest` under the parent run `parent_id`, if any."""
    found = client.search_runs(
        [experiment_id],
        order_by=["attributes.start_time DESC"],
        filter_string=(f"tags.`{PARENT_RUN_TAG}` = '{parent_id}' and tags.`{CONFIG_DIGEST_TAG}` = '{digest}'"),
    )
    return found[0] if found else None


def worker_record(
    run: RunConfig, mlflow_run: Run | None, flow_state: str, flow_message: str | None, paths: ProjectPaths
) -> RunRecord:
    """The record of `run` trained by a worker's flow run that ended in `flow_state` with `flow_message`.

    Without an MLflow run (the worker died before it started one) the configuration failed; an MLflow run
    that did not finish gives `diverged` or `failed` with its reason. A finished run's checkpoint is its
    sealed weights or its `last.pt` in this clone, or else the logged model's weights, downloaded.
    """
    if mlflow_run is None:
        return RunRecord(
            run.name,
            run.to_dict(),
            "",
            "failed",
            failure_reason=f"train-one flow run ended {flow_state}: {flow_message}",
        )
    tags = mlflow_run.data.tags
    outcome = tags.get(OUTCOME_TAG, "failed")
    if outcome != "finished" or mlflow_run.info.status != "FINISHED":
        return RunRecord(
            run.name,
            run.to_dict(),
            mlflow_run.info.run_id,
            "diverged" if outcome == "diverged" else "failed",
            failure_reason=tags.get(FAILURE_REASON_TAG, flow_message),
        )
    weights = paths.run_weights(run.dataset, run.name, run.digest)
    last = paths.run_last_state(run.dataset, run.name, run.digest)
    checkpoint = next((p for p in (weights, last) if p.is_file()), None)
    if checkpoint is None:  # trained on another machine: fetch the package's weights and its snapshots
        checkpoint = fetch_weights(tags[MODEL_URI_TAG], weights.parent)
        fetch_snapshots(mlflow_run.info.run_id, weights.parent)
    return RunRecord(
        run.name,
        run.to_dict(),
        mlflow_run.info.run_id,
        "finished",
        checkpoint=str(checkpoint),
        model_uri=tags[MODEL_URI_TAG],
        device=tags.get(DEVICE_TAG),
    )


def fetch_weights(model_uri: str, folder: Path) -> Path:
    """Download a logged model's inference weights to `folder/weights.pt` (evaluate and render read them)."""
    import mlflow

    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=tmp))
        weights = next(local.rglob(WEIGHTS_FILE))
        os.replace(weights, folder / WEIGHTS_FILE)
    return folder / WEIGHTS_FILE


def fetch_snapshots(run_id: str, folder: Path, tracking_uri: str | None = None) -> Path | None:
    """Download a run's snapshots over training (`train.snapshots`) to `folder/snapshots/`, if it logged any.
    `tracking_uri` defaults to MLflow's current one (the sweep's store)."""
    import mlflow

    from betavae.io import replace_dir

    uri = tracking_uri or mlflow.get_tracking_uri()
    if not mlflow.artifacts.list_artifacts(run_id=run_id, artifact_path=SNAPSHOTS_DIR, tracking_uri=uri):
        return None
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        local = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=SNAPSHOTS_DIR, dst_path=tmp, tracking_uri=uri
        )
        replace_dir(Path(local), folder / SNAPSHOTS_DIR)
    return folder / SNAPSHOTS_DIR
