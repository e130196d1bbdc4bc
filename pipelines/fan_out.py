"""Fan a sweep out over GPU workers: one flow run of the `train-one` deployment per configuration.

Submission goes through `prefect.deployments.run_deployment` (the flow runs appear as subflows of the
sweep); outcomes are read back from MLflow, where each configuration's run is nested under the sweep's
parent run and tagged with its config digest and outcome. A flow run that crashed or failed without a
diverged MLflow run (a killed worker) is submitted once more and resumes from its checkpoint when it lands
on the machine holding it; a diverged configuration is recorded and never retried.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from mlflow.tracking import MlflowClient
from prefect import get_run_logger

POLL_SECONDS = 2.0
RESUBMITS = 1


def _submit(deployment: str, run: Any, experiment_id: str, parent_id: str, keep: bool) -> Any:
    from prefect.deployments import run_deployment

    return run_deployment(deployment, timeout=0, as_subflow=True, flow_run_name=f"train-{run.name}",
                          parameters={"run_config": run.to_dict(), "experiment_id": experiment_id,
                                      "parent_run_id": parent_id, "keep_checkpoints": keep})


def _wait(flow_run_ids: list[Any], timeout: float | None = None) -> dict[Any, Any]:
    """Final states of the flow runs, polled from the Prefect API."""
    from prefect.client.orchestration import get_client

    deadline = None if timeout is None else time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            states = {fid: client.read_flow_run(fid).state for fid in flow_run_ids}
            if all(s is not None and s.is_final() for s in states.values()):
                return states
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"train-one flow runs not finished after {timeout} s")
            time.sleep(POLL_SECONDS)


def _mlflow_outcome(client: MlflowClient, experiment_id: str, parent_id: str, digest: str) -> Any | None:
    from betavae.tracking.runs import DIGEST_TAG

    found = client.search_runs([experiment_id], order_by=["attributes.start_time DESC"], filter_string=(
        f"tags.`mlflow.parentRunId` = '{parent_id}' and tags.`{DIGEST_TAG}` = '{digest}'"))
    return found[0] if found else None


def _record(run: Any, mlflow_run: Any | None, state: Any, root: Path) -> Any:
    from betavae.paths import ProjectPaths
    from betavae.tracking.runs import MODEL_URI_TAG, OUTCOME_TAG
    from betavae.tracking.sweep_record import RunRecord

    if mlflow_run is None:
        return RunRecord(run.name, run.to_dict(), "", "failed",
                         failure_reason=f"train-one flow run ended {state.type.value}: {state.message}")
    tags = mlflow_run.data.tags
    outcome = tags.get(OUTCOME_TAG, "failed")
    if outcome != "finished" or mlflow_run.info.status != "FINISHED":
        return RunRecord(run.name, run.to_dict(), mlflow_run.info.run_id, "diverged" if outcome == "diverged" else
                         "failed", failure_reason=tags.get("betavae.failure_reason", state.message))
    paths = ProjectPaths(root)
    weights = paths.run_weights(run.dataset, run.name, run.digest)
    last = paths.run_checkpoints(run.dataset, run.name, run.digest) / "last.pt"
    checkpoint = next((p for p in (weights, last) if p.is_file()), None)
    if checkpoint is None:  # trained on another machine: fetch the package's weights
        checkpoint = fetch_weights(tags[MODEL_URI_TAG], weights.parent)
    return RunRecord(run.name, run.to_dict(), mlflow_run.info.run_id, "finished", checkpoint=str(checkpoint),
                     model_uri=tags[MODEL_URI_TAG], device=tags.get("betavae.device"))


def fetch_weights(model_uri: str, folder: Path) -> Path:
    """Download a logged model's inference weights to `folder/final.pt` (evaluate and render read them)."""
    import os
    import tempfile

    import mlflow

    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=tmp))
        weights = next(local.rglob("weights.pt"))
        os.replace(weights, folder / "final.pt")
    return folder / "final.pt"


def train_on_workers(runs: list[Any], deployment: str, *, client: MlflowClient, experiment_id: str,
                     parent_id: str, root: Path, keep_checkpoints: bool = False) -> list[Any]:
    """Train every configuration as its own flow run of `deployment`; wait for all; return RunRecords."""
    logger = get_run_logger()
    pending = {run.digest: run for run in runs}
    records: dict[str, Any] = {}
    for attempt in range(RESUBMITS + 1):
        submitted = {_submit(deployment, run, experiment_id, parent_id, keep_checkpoints).id: run
                     for run in pending.values()}
        logger.info("submitted %d configurations to %s (attempt %d)", len(submitted), deployment, attempt + 1)
        states = _wait(list(submitted))
        retry = {}
        for fid, run in submitted.items():
            record = _record(run, _mlflow_outcome(client, experiment_id, parent_id, run.digest), states[fid], root)
            records[run.digest] = record
            if record.status == "failed" and attempt < RESUBMITS:
                retry[run.digest] = run
        pending = retry
        if not pending:
            break
    return [records[run.digest] for run in runs]
