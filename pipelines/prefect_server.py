"""The temporary Prefect API a stage's flow reports to, stopped with the stage even when it is killed.

Without `PREFECT_API_URL`, Prefect starts a temporary server of its own and stops it at interpreter exit,
which a SIGKILL skips: the server would outlive its stage. Here the stage starts that same server
itself, as a child the kernel signals when the stage dies (`betavae.processes.spawn_bound`), and records
its pid under `.prefect/servers/`, so a run on a system without that kernel feature stops the servers
of killed runs before starting its own.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from betavae.processes import free_port, reap_orphans, spawn_bound, stop, wait_healthy, write_pid_record

MARKER = "prefect.server.api.server:create_app"
STARTUP_TIMEOUT_S = 90.0


@contextlib.contextmanager
def temporary_prefect_server(project: Path) -> Iterator[str | None]:
    """Point Prefect at a server bound to this process for the block; yield its API URL.

    With `PREFECT_API_URL` set (a shared server, Prefect Cloud, a worker's run) nothing is started.
    """
    from prefect.settings import (
        PREFECT_API_URL,
        get_current_settings,
        temporary_settings,
    )

    if PREFECT_API_URL.value():
        yield PREFECT_API_URL.value()
        return
    records = Path(project) / ".prefect" / "servers"
    reap_orphans(records)
    port = free_port()
    env = {
        **os.environ,
        **get_current_settings().to_environment_variables(exclude_unset=True),
        "PREFECT_UI_ENABLED": "0",
        "PREFECT__SERVER_EPHEMERAL": "1",
        "PREFECT__SERVER_FINAL": "1",
    }
    import prefect

    child = spawn_bound(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(Path(prefect.__file__).parents[1]),
            "--factory",
            MARKER,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "error",
            "--lifespan",
            "on",
        ],
        env=env,
    )
    record = write_pid_record(records, child.pid, os.getpid(), MARKER)
    url = f"http://127.0.0.1:{port}/api"
    try:
        wait_healthy(f"{url}/health", child, STARTUP_TIMEOUT_S, "the temporary Prefect server")
        with temporary_settings(updates={PREFECT_API_URL: url}):
            yield url
    finally:
        _flush_to_server()
        stop(child)
        record.unlink(missing_ok=True)


def _flush_to_server(timeout: float = 15.0) -> None:
    """Send the logs and events Prefect still holds while the server is up.

    Prefect ships them from background workers that it drains at interpreter exit; by then this server
    is gone, and each worker retries its connection for about a minute before it gives up.
    """
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        with contextlib.suppress(Exception):
            worker.drain_all(timeout=timeout, at_exit=False)
