"""A RUNNING MLflow run is closed only when the process that owns it is gone (host + pid + start time, or
a stale heartbeat for another host); a live run on another worker is never touched."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from betavae.processes import pid_space, process_start_time
from betavae.tracking.client import client_for, ensure_experiment, orphan_reason, start_run
from betavae.tracking.runs import train_and_track
from betavae.tracking.tags import (
    CONFIG_DIGEST_TAG,
    FAILURE_REASON_TAG,
    HEARTBEAT_TAG,
    OWNER_HOST_TAG,
    OWNER_PID_SPACE_TAG,
    OWNER_PID_TAG,
    OWNER_START_TAG,
)
from tests.helpers.run_holder import run_holder_config, run_holder_data

ROOT = Path(__file__).parents[2]
HOST = socket.gethostname()


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_retry_leaves_the_live_first_attempt_running_and_closes_it_once_killed(project):
    client = client_for(project)
    experiment = ensure_experiment(client, "betavae-tiny", project)
    parent = start_run(client, experiment, "sweep")
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    holder = subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.run_holder", str(project), experiment, parent.run_id],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = holder.stdout.readline()  # blocks until the holder's run exists (or the holder died)
        assert line.startswith("holding "), f"the holder ended early: {line!r} {holder.stderr.read()[-3000:]}"
        first = line.split()[1]
        held = client.get_run(first)
        assert held.info.status == "RUNNING"
        assert held.data.tags[OWNER_PID_TAG] == str(holder.pid) and held.data.tags[OWNER_HOST_TAG] == HOST
        assert held.data.tags[OWNER_START_TAG] == process_start_time(holder.pid)
        assert held.data.tags[OWNER_PID_SPACE_TAG] == pid_space()
        assert float(held.data.tags[HEARTBEAT_TAG]) >= held.info.start_time / 1000 - 1
        assert [m.step for m in client.get_metric_history(first, "total")] == [1]

        # A second start of the same configuration (a retry) while the first attempt still runs.
        run, data = run_holder_config(), run_holder_data()
        retry = train_and_track(
            run, data, root=project, client=client, experiment_id=experiment, parent_id=parent.run_id, progress=False
        )
        assert retry.status == "finished" and retry.run_id != first
        assert client.get_run(first).info.status == "RUNNING"
        assert client.get_run(first).data.tags[CONFIG_DIGEST_TAG] == run.digest

        holder.kill()
        holder.wait()  # reaped: its pid no longer runs
        again = train_and_track(
            run, data, root=project, client=client, experiment_id=experiment, parent_id=parent.run_id, progress=False
        )
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.communicate()
    closed = client.get_run(first)
    assert closed.info.status == "KILLED"
    assert closed.data.tags[FAILURE_REASON_TAG] == (
        f"process {holder.pid} on {HOST} ended before the run finished (killed)"
    )
    assert {client.get_run(r.run_id).info.status for r in (retry, again)} == {"FINISHED"}
    parent.finish()


def _owned(host: str, pid: int, **extra: str) -> dict[str, str]:
    return {OWNER_HOST_TAG: host, OWNER_PID_TAG: str(pid), **extra}


def test_a_run_of_this_host_is_orphaned_once_its_pid_ends_or_belongs_to_a_later_process():
    me, started = os.getpid(), process_start_time(os.getpid())
    assert orphan_reason(_owned(HOST, me, **{OWNER_START_TAG: started}), host=HOST) is None
    assert orphan_reason(_owned(HOST, me), host=HOST) is None  # start time not recorded: the pid decides
    reused = orphan_reason(_owned(HOST, me, **{OWNER_START_TAG: "another-boot:1"}), host=HOST)
    if started is not None:  # /proc tells start times apart (Linux)
        assert reused == f"process {me} on {HOST} ended before the run finished (killed)"
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    dead = int(ended.stdout)
    assert orphan_reason(_owned(HOST, dead), host=HOST) == (
        f"process {dead} on {HOST} ended before the run finished (killed)"
    )


def test_a_run_of_another_host_is_orphaned_only_by_a_stale_heartbeat():
    other = "worker-7"
    beat = {HEARTBEAT_TAG: "1000.000"}
    assert orphan_reason(_owned(other, 42, **beat), host=HOST, now=1000.0 + 3600.0, heartbeat_timeout_s=3600) is None
    assert orphan_reason(_owned(other, 42, **beat), host=HOST, now=1000.0 + 3601.0, heartbeat_timeout_s=3600) == (
        "process 42 on worker-7 ended before the run finished: no heartbeat for 3601 s (more than 3600 s)"
    )
    # Without a heartbeat (a sweep's parent run) or without owner tags, nothing says the owner is gone.
    assert orphan_reason(_owned(other, 42), host=HOST, now=1e12) is None
    assert orphan_reason({HEARTBEAT_TAG: "1000.000"}, host=HOST, now=1e12) is None
    # The other host's pid says nothing here, even when a process of this host has that pid.
    assert orphan_reason(_owned(other, os.getpid(), **beat), host=HOST, now=1001.0) is None


def test_a_pid_of_another_machine_or_container_with_this_host_name_is_not_looked_up_here():
    """Two machines named alike, or a container sharing the host's name, cannot see each other's pids:
    only the heartbeat can tell that their owner is gone."""
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    dead = int(ended.stdout)
    elsewhere = {OWNER_PID_SPACE_TAG: "another-machine/pid:[4026531836]"}
    assert orphan_reason(_owned(HOST, dead, **elsewhere), host=HOST) is None
    assert orphan_reason(
        _owned(HOST, dead, **elsewhere, **{HEARTBEAT_TAG: "1000.000"}),
        host=HOST,
        now=1000.0 + 7200,
        heartbeat_timeout_s=3600,
    ) == (f"process {dead} on {HOST} ended before the run finished: no heartbeat for 7200 s (more than 3600 s)")
    here = {OWNER_PID_SPACE_TAG: pid_space()} if pid_space() is not None else {}
    assert orphan_reason(_owned(HOST, dead, **here), host=HOST) == (
        f"process {dead} on {HOST} ended before the run finished (killed)"
    )


def test_closing_by_configuration_leaves_other_configurations_and_stale_heartbeats_elsewhere(project):
    from betavae.tracking.client import close_orphaned_runs

    client = client_for(project)
    experiment = ensure_experiment(client, "owners", project)
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    dead = ended.stdout.strip()
    mine = start_run(client, experiment, "a", tags={CONFIG_DIGEST_TAG: "a", OWNER_PID_TAG: dead})
    other_config = start_run(client, experiment, "b", tags={CONFIG_DIGEST_TAG: "b", OWNER_PID_TAG: dead})
    far_stale = start_run(
        client,
        experiment,
        "a-far",
        heartbeat=True,
        tags={CONFIG_DIGEST_TAG: "a", OWNER_HOST_TAG: "worker-7", HEARTBEAT_TAG: "1000.000"},
    )
    far_live = start_run(
        client, experiment, "a-far-live", heartbeat=True, tags={CONFIG_DIGEST_TAG: "a", OWNER_HOST_TAG: "worker-8"}
    )
    closed = close_orphaned_runs(client, experiment, tags={CONFIG_DIGEST_TAG: "a"})
    assert sorted(closed) == sorted([mine.run_id, far_stale.run_id])
    status = {r: client.get_run(r.run_id).info.status for r in (mine, other_config, far_stale, far_live)}
    assert status == {mine: "KILLED", other_config: "RUNNING", far_stale: "KILLED", far_live: "RUNNING"}
    assert (
        "worker-7 ended before the run finished: no heartbeat for"
        in client.get_run(far_stale.run_id).data.tags[FAILURE_REASON_TAG]
    )


def test_all_runs_reads_every_page(project):
    """`search_runs` returns one page (at most 1,000 runs); `all_runs` follows the page token to the end."""
    from betavae.tracking.client import all_runs

    client = client_for(project)
    experiment = ensure_experiment(client, "paged", project)
    made = {start_run(client, experiment, f"r{i}", tags={CONFIG_DIGEST_TAG: "p"}).run_id for i in range(7)}
    assert len(client.search_runs([experiment], max_results=3)) == 3  # one page, as MLflow answers
    assert {r.info.run_id for r in all_runs(client, [experiment], page_size=3)} == made
    assert {r.info.run_id for r in all_runs(client, [experiment], f"tags.`{CONFIG_DIGEST_TAG}` = 'p'", 2)} == made
    assert list(all_runs(client, [experiment], f"tags.`{CONFIG_DIGEST_TAG}` = 'none'")) == []
