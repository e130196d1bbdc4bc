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
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from mlflow.entities import Metric, Param, Run, RunTag
from mlflow.tracking import MlflowClient

from betavae.errors import TrackingStoreError, disk_full
from betavae.paths import ProjectPaths
from betavae.processes import pid_space, process_running, process_start_time
from betavae.tracking.tags import (
    FAILURE_REASON_TAG,
    HEARTBEAT_TAG,
    OWNER_HOST_TAG,
    OWNER_PID_SPACE_TAG,
    OWNER_PID_TAG,
    OWNER_START_TAG,
    PARENT_RUN_TAG,
    RUN_NAME_TAG,
)

MAX_BATCH = 900  # MLflow accepts at most 1000 entities per log_batch call
HEARTBEAT_TIMEOUT_S = 3600.0
"""Seconds without a heartbeat after which a RUNNING run owned by a process on another host is taken for
dead. Far longer than the gap between two logging points of any run (or the model logging after the last):
a run that is merely slow must never be closed under its owner."""


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
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        try:  # one cheap request, so a server that is down is named as such, not as a missing model or run
            client.search_experiments(max_results=1)
        except Exception as exc:
            raise TrackingStoreError(f"tracking store {uri} cannot be reached: {_first_line(exc)}") from None
        return client
    try:
        return _open_sqlite_store(uri, Path(uri[len("sqlite:///") :]))
    except Exception as exc:  # SQLAlchemy, sqlite3 and MLflow each wrap a damaged file differently
        full = disk_full(exc, Path(uri[len("sqlite:///") :]).parent)
        if full is not None:
            raise full from None
        raise TrackingStoreError(f"tracking store {uri} cannot be opened: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    """The innermost cause's message, first line only: what failed, without a driver's traceback."""
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


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


def all_runs(
    client: MlflowClient, experiment_ids: list[str], filter_string: str = "", page_size: int = 1000
) -> Iterator[Run]:
    """Every run matching `filter_string`, page by page: one `search_runs` call returns at most
    `page_size` runs (MLflow's default and cap is 1,000), so a sweep of thousands needs the page token."""
    token = None
    while True:
        page = client.search_runs(experiment_ids, filter_string=filter_string, max_results=page_size, page_token=token)
        yield from page
        token = page.token
        if not token:
            return


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
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10, check=True
        )
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
            self.client.log_batch(self.run_id, params=items[i : i + MAX_BATCH])

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        items = [RunTag(k, str(v)) for k, v in tags.items()]
        self.client.log_batch(self.run_id, tags=items)

    def log_metrics(self, metrics: Mapping[str, float], step: int, *, heartbeat: bool = False) -> None:
        """Log finite values; MLflow stores NaN poorly and a diverged value is recorded as a tag instead.

        With `heartbeat`, the run's heartbeat tag (`betavae.heartbeat`) is refreshed in the same request:
        the owner shows it is alive, so a process on another host does not take the run for an orphan
        (:func:`orphan_reason`)."""
        now = time.time()
        items = [Metric(k, float(v), int(now * 1000), step) for k, v in metrics.items() if math.isfinite(float(v))]
        beat = [RunTag(HEARTBEAT_TAG, heartbeat_value(now))] if heartbeat else []
        if beat and not items:
            self.client.log_batch(self.run_id, tags=beat)
        for i in range(0, len(items), MAX_BATCH):
            self.client.log_batch(self.run_id, metrics=items[i : i + MAX_BATCH], tags=beat if i == 0 else [])

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        self.client.log_artifact(self.run_id, str(path), artifact_path)

    def finish(self, status: str = "FINISHED") -> None:
        self.client.set_terminated(self.run_id, status=status)


def heartbeat_value(now: float | None = None) -> str:
    """The heartbeat tag's value: Unix time in seconds."""
    return f"{time.time() if now is None else now:.3f}"


def owner_tags(*, heartbeat: bool = False) -> dict[str, str]:
    """Tags naming the process that owns a new run: host, pid, where that pid can be looked up (machine id
    and pid namespace) and the pid's start time where the OS records them (so a later process given the
    same pid is told apart), and with `heartbeat` a first heartbeat."""
    tags = {OWNER_HOST_TAG: socket.gethostname(), OWNER_PID_TAG: str(os.getpid())}
    space, started = pid_space(), process_start_time(os.getpid())
    if space is not None:
        tags[OWNER_PID_SPACE_TAG] = space
    if started is not None:
        tags[OWNER_START_TAG] = started
    if heartbeat:
        tags[HEARTBEAT_TAG] = heartbeat_value()
    return tags


def start_run(
    client: MlflowClient,
    experiment_id: str,
    name: str,
    *,
    parent_id: str | None = None,
    tags: Mapping[str, Any] | None = None,
    heartbeat: bool = False,
) -> RunLogger:
    """Create a run (nested under `parent_id` when given) and return a logger bound to it.

    The run is tagged with its owner (:func:`owner_tags`). `heartbeat` promises that the owner refreshes
    the heartbeat tag as it works (`RunLogger.log_metrics(..., heartbeat=True)`); only such a run can be
    closed from another host once its heartbeat stops (:func:`orphan_reason`).
    """
    all_tags = {RUN_NAME_TAG: name, **owner_tags(heartbeat=heartbeat), **(tags or {})}
    if parent_id:
        all_tags[PARENT_RUN_TAG] = parent_id
    run = client.create_run(experiment_id, run_name=name, tags={k: str(v) for k, v in all_tags.items()})
    return RunLogger(client, run.info.run_id)


def orphan_reason(
    tags: Mapping[str, str],
    *,
    host: str | None = None,
    now: float | None = None,
    heartbeat_timeout_s: float = HEARTBEAT_TIMEOUT_S,
) -> str | None:
    """Why a RUNNING run with these tags has lost the process that owns it, or None while it may be alive.

    - On this host (`host`, default this machine's name, with the same machine id and pid namespace when
      both are recorded): the recorded pid no longer runs, or it runs but started at another time than
      the one recorded (the pid was given to a later process).
    - On another host (or in a container whose pids cannot be seen from here): the run's heartbeat is older
      than `heartbeat_timeout_s`. A run without a heartbeat tag (its owner never promised one) is left
      alone.
    - A run without owner tags (not started by :func:`start_run`) is left alone.
    """
    host = socket.gethostname() if host is None else host
    owner, pid = tags.get(OWNER_HOST_TAG), tags.get(OWNER_PID_TAG, "")
    if owner is None or not pid.isdigit():
        return None
    space = tags.get(OWNER_PID_SPACE_TAG)
    if owner == host and (space is None or space == pid_space()):
        if process_running(int(pid), tags.get(OWNER_START_TAG)):
            return None
        return f"process {pid} on {host} ended before the run finished (killed)"
    try:
        last = float(tags[HEARTBEAT_TAG])
    except (KeyError, ValueError):
        return None
    age = (time.time() if now is None else now) - last
    if age <= heartbeat_timeout_s:
        return None
    return (
        f"process {pid} on {owner} ended before the run finished: no heartbeat for {age:.0f} s "
        f"(more than {heartbeat_timeout_s:.0f} s)"
    )


def close_orphaned_runs(
    client: MlflowClient,
    experiment_id: str,
    *,
    tags: Mapping[str, str] | None = None,
    heartbeat_timeout_s: float = HEARTBEAT_TIMEOUT_S,
) -> list[str]:
    """Mark KILLED, with the reason, every RUNNING run whose owning process is gone (:func:`orphan_reason`);
    with `tags`, only the runs carrying all of them (e.g. one configuration's digest). Returns their ids.

    A SIGKILL leaves no chance to end a run; without this, the MLflow UI would show it running forever.
    A run whose owner may still be at work (this host's live process, or another host's run with a fresh
    heartbeat, such as a retry's first attempt still training on another worker) is never touched.
    """
    host = socket.gethostname()
    query = " and ".join([*(f"tags.`{k}` = '{v}'" for k, v in (tags or {}).items()), "attributes.status = 'RUNNING'"])
    closed = []
    for run in all_runs(client, [experiment_id], query):
        reason = orphan_reason(run.data.tags, host=host, heartbeat_timeout_s=heartbeat_timeout_s)
        if reason is None:
            continue
        client.set_tag(run.info.run_id, FAILURE_REASON_TAG, reason)
        client.set_terminated(run.info.run_id, status="KILLED")
        closed.append(run.info.run_id)
    return closed
