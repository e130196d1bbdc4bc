"""MLflow tracking: one parent run per sweep, one nested run per configuration.

Everything goes through :class:`mlflow.tracking.MlflowClient` with explicit run ids, because the fluent
API's active run is thread-local and Prefect runs tasks in worker threads. Metadata lives in
`sqlite:///<project>/mlflow.db` and artifacts under `<project>/mlruns/` unless `MLFLOW_TRACKING_URI` says
otherwise.
"""

from __future__ import annotations

import math
import os
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from betavae.paths import ProjectPaths
from betavae.processes import process_alive

PARENT_TAG = "mlflow.parentRunId"
OWNER_HOST_TAG = "betavae.owner_host"
OWNER_PID_TAG = "betavae.owner_pid"
MAX_BATCH = 900  # MLflow accepts at most 1000 entities per log_batch call


def tracking_uri(root: Path) -> str:
    """The tracking URI: `MLFLOW_TRACKING_URI` if set, else an absolute sqlite path inside the project."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{ProjectPaths(Path(root).resolve()).mlflow_db}"


def client_for(root: Path) -> MlflowClient:
    """A client on the project's store; also points the fluent API there (used by `log_model`)."""
    import mlflow

    uri = tracking_uri(root)
    # MLflow also writes the URIs into the environment; undo that, so the user's MLFLOW_TRACKING_URI
    # (or its absence) still decides where the next project's store is, in this process and its children.
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    if not uri.startswith("sqlite:///"):
        return MlflowClient(tracking_uri=uri, registry_uri=uri)
    return _open_sqlite_store(uri, Path(uri[len("sqlite:///"):]))


def _open_sqlite_store(uri: str, db: Path) -> MlflowClient:
    """Open (create or migrate) a sqlite store under a file lock: two processes opening a new store at
    once would otherwise race on the schema migration and one of them would fail."""
    import fcntl

    db.parent.mkdir(parents=True, exist_ok=True)
    with open(db.with_name(db.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            client = MlflowClient(tracking_uri=uri, registry_uri=uri)
            client.search_experiments(max_results=1)  # the tracking store: tables created and migrated
            client.search_registered_models(max_results=1)  # the registry store on the same file
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return client


def ensure_experiment(client: MlflowClient, name: str, root: Path) -> str:
    """The id of experiment `name`, created with its artifacts under `<root>/mlruns` if it is new, and
    tagged as a model-training experiment (see :mod:`betavae.tracking.ui`)."""
    from betavae.tracking.ui import mark_training_experiment

    existing = client.get_experiment_by_name(name)
    if existing is not None:
        experiment_id = existing.experiment_id
    else:
        location = None
        if client.tracking_uri.startswith("sqlite:"):
            location = ProjectPaths(Path(root).resolve()).mlruns.as_uri()
        experiment_id = client.create_experiment(name, artifact_location=location)
    mark_training_experiment(client, experiment_id)
    return experiment_id


def git_commit(root: Path) -> str:
    """The checked-out commit, or `unknown` outside a git work tree."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                             timeout=10, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _param_value(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 6000 else text[:5997] + "..."


class RunLogger:
    """Logs to one MLflow run by id; safe to use from any thread."""

    def __init__(self, client: MlflowClient, run_id: str) -> None:
        self.client = client
        self.run_id = run_id

    def log_params(self, params: Mapping[str, Any]) -> None:
        items = [Param(k, _param_value(v)) for k, v in params.items()]
        for i in range(0, len(items), MAX_BATCH):
            self.client.log_batch(self.run_id, params=items[i:i + MAX_BATCH])

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        items = [RunTag(k, str(v)) for k, v in tags.items()]
        self.client.log_batch(self.run_id, tags=items)

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """Log finite values; MLflow stores NaN poorly and a diverged value is recorded as a tag instead."""
        now = int(time.time() * 1000)
        items = [Metric(k, float(v), now, step) for k, v in metrics.items() if math.isfinite(float(v))]
        for i in range(0, len(items), MAX_BATCH):
            self.client.log_batch(self.run_id, metrics=items[i:i + MAX_BATCH])

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        self.client.log_artifact(self.run_id, str(path), artifact_path)

    def finish(self, status: str = "FINISHED") -> None:
        self.client.set_terminated(self.run_id, status=status)


def start_run(client: MlflowClient, experiment_id: str, name: str, *, parent_id: str | None = None,
              tags: Mapping[str, Any] | None = None) -> RunLogger:
    """Create a run (nested under `parent_id` when given) and return a logger bound to it."""
    all_tags = {"mlflow.runName": name, OWNER_HOST_TAG: socket.gethostname(), OWNER_PID_TAG: os.getpid(),
                **(tags or {})}
    if parent_id:
        all_tags[PARENT_TAG] = parent_id
    run = client.create_run(experiment_id, run_name=name, tags={k: str(v) for k, v in all_tags.items()})
    return RunLogger(client, run.info.run_id)


def close_orphaned_runs(client: MlflowClient, experiment_id: str) -> list[str]:
    """Mark KILLED, with the reason, every RUNNING run started on this host by a process that has died.

    A SIGKILL leaves no chance to end a run; without this, the MLflow UI would show it running forever.
    Runs of live processes (a concurrent sweep) and of other hosts are left alone. Returns their ids.
    """
    host = socket.gethostname()
    closed = []
    for run in client.search_runs([experiment_id], filter_string="attributes.status = 'RUNNING'"):
        tags = run.data.tags
        pid = tags.get(OWNER_PID_TAG, "")
        if tags.get(OWNER_HOST_TAG) != host or not pid.isdigit() or process_alive(int(pid)):
            continue
        client.set_tag(run.info.run_id, "betavae.failure_reason",
                       f"process {pid} on {host} ended before the run finished (killed)")
        client.set_terminated(run.info.run_id, status="KILLED")
        closed.append(run.info.run_id)
    return closed
