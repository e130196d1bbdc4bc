"""A run whose process was SIGKILLed is closed as KILLED with its reason by the next sweep, not left RUNNING."""

from __future__ import annotations

import os
import subprocess
import sys

from betavae.tracking.client import (
    OWNER_HOST_TAG,
    OWNER_PID_TAG,
    client_for,
    close_orphaned_runs,
    ensure_experiment,
    start_run,
)


def test_runs_of_dead_processes_on_this_host_are_closed_and_no_others(tmp_path):
    client = client_for(tmp_path)
    experiment = ensure_experiment(client, "e", tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    orphan = start_run(client, experiment, "orphan", tags={OWNER_PID_TAG: dead.stdout.strip()})
    live = start_run(client, experiment, "live")  # owned by this process
    elsewhere = start_run(client, experiment, "elsewhere", tags={OWNER_HOST_TAG: "another-host",
                                                                  OWNER_PID_TAG: dead.stdout.strip()})
    assert close_orphaned_runs(client, experiment) == [orphan.run_id]
    closed = client.get_run(orphan.run_id)
    assert closed.info.status == "KILLED"
    assert closed.data.tags["betavae.failure_reason"].startswith(f"process {dead.stdout.strip()} on ")
    assert {client.get_run(r.run_id).info.status for r in (live, elsewhere)} == {"RUNNING"}
    assert client.get_run(live.run_id).data.tags[OWNER_PID_TAG] == str(os.getpid())
