"""A killed stage or `betavae serve` leaves no server behind; every server binds loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from betavae.processes import reap_orphans, write_pid_record
from pipelines.prefect_server import MARKER
from tests.helpers.processes import alive, listening_addresses, wait_gone
from tests.helpers.project_copy import ROOT, clean_env

STAGE = textwrap.dedent("""
    import time
    from prefect import flow
    from pipelines.common import main_guard

    @flow(name="sleeper")
    def sleeper():
        print("READY", flush=True)
        time.sleep(600)

    main_guard(sleeper, flow=True)
""")


@pytest.mark.slow
def test_sigkilled_stage_takes_its_prefect_server_with_it(tmp_path):
    env = clean_env(tmp_path)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    env["BETAVAE_ROOT"] = str(tmp_path)
    stage = subprocess.Popen(
        [sys.executable, "-c", STAGE], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert stage.stdout.readline().strip() == "READY", stage.stderr.read()
        records = list((tmp_path / ".prefect" / "servers").glob("*.json"))
        assert len(records) == 1
        server = json.loads(records[0].read_text())["pid"]
        assert alive(server) and MARKER in Path(f"/proc/{server}/cmdline").read_text()
        assert listening_addresses(server) == {"127.0.0.1"}
        stage.send_signal(signal.SIGKILL)
        stage.wait(10)
        assert wait_gone(server), f"Prefect server {server} outlived its killed stage"
    finally:
        stage.kill()
        stage.wait()
        stage.stdout.close()
        stage.stderr.close()


def test_next_run_reaps_a_server_recorded_by_a_dead_stage(tmp_path):
    """Where the kernel cannot signal the child (not Linux), the pid record lets the next stage stop it."""
    orphan = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", MARKER], start_new_session=True)
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    dead_owner = subprocess.Popen([sys.executable, "-c", "pass"])
    dead_owner.wait()
    try:
        write_pid_record(tmp_path, orphan.pid, dead_owner.pid, MARKER)
        write_pid_record(tmp_path, bystander.pid, dead_owner.pid, MARKER)  # pid reused by another program
        write_pid_record(tmp_path, 999_999_999, os.getppid(), MARKER)  # live owner: left alone
        assert reap_orphans(tmp_path) == [orphan.pid]
        assert orphan.wait(10) is not None
        assert bystander.poll() is None
        assert sorted(p.name for p in tmp_path.glob("*.json")) == ["999999999.json"]
    finally:
        for proc in (orphan, bystander):
            proc.kill()
            proc.wait()
