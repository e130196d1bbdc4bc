"""The fault hook the kill tests rely on: a stage dies or holds exactly at the named point, never elsewhere."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from betavae import faults
from betavae.errors import ConfigError
from tests.helpers.project_copy import ROOT

# Writes three outputs through the project's atomic writer, printing each name once it is in place.
STAGE = textwrap.dedent("""
    import sys
    from pathlib import Path
    from betavae import faults
    from betavae.io import write_json
    faults.enter_stage(sys.argv[1])
    for name in ("a", "b", "c"):
        write_json(Path(sys.argv[2]) / f"{name}.json", {"name": name})
        print(name, flush=True)
""")


def _run(tmp_path, stage: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("BETAVAE_")} | env
    environ["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    return subprocess.run(
        [sys.executable, "-c", STAGE, stage, str(tmp_path)], env=environ, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("count, written", [("", ["a"]), (":2", ["a", "b"]), (":3", ["a", "b", "c"])])
def test_fault_kills_the_named_stage_at_the_nth_point(tmp_path, count, written):
    proc = _run(tmp_path, "evaluate", BETAVAE_FAULT=f"evaluate:output-written{count}")
    assert proc.returncode == -signal.SIGKILL
    assert sorted(p.name for p in tmp_path.glob("*.json")) == [f"{n}.json" for n in written]
    assert proc.stdout.split() == written[:-1], "the process went on past the point it was to die at"


def test_fault_for_another_stage_is_ignored(tmp_path):
    proc = _run(tmp_path, "render", BETAVAE_FAULT="evaluate:output-written")
    assert proc.returncode == 0 and proc.stdout.split() == ["a", "b", "c"]


def test_pause_holds_the_stage_until_the_gate_opens(tmp_path):
    gate = tmp_path / "gate"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("BETAVAE_")}
    environ |= {
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "BETAVAE_PAUSE": f"evaluate:output-written:{gate}",
    }
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-c", STAGE, "evaluate", str(out)], env=environ, stdout=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 120
    while not (tmp_path / "gate.reached").exists():
        assert proc.poll() is None and time.monotonic() < deadline, "the stage never reached its point"
        time.sleep(0.01)
    assert sorted(p.name for p in out.glob("*.json")) == ["a.json"]  # held right after the first output
    assert proc.poll() is None
    gate.touch()
    stdout, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0 and stdout.split() == ["a", "b", "c"]


@pytest.mark.parametrize(
    "spec, env, expected",
    [
        ("evaluate", faults.FAULT_ENV, "expected <stage>:<point>"),
        ("evaluate:no-such-point", faults.FAULT_ENV, "a point among"),
        ("evaluate:output-written:0", faults.FAULT_ENV, "whole number >= 1"),
        ("evaluate:output-written:x", faults.FAULT_ENV, "whole number >= 1"),
        ("evaluate:output-written", faults.PAUSE_ENV, "<gate file>"),
    ],
)
def test_a_mistyped_request_is_refused_when_the_stage_starts(monkeypatch, spec, env, expected):
    monkeypatch.setenv(env, spec)
    with pytest.raises(ConfigError, match=expected):
        faults.enter_stage("evaluate")
    monkeypatch.delenv(env)
    faults.enter_stage("evaluate")
    faults._stage = None


def test_unset_hook_costs_nothing_and_kills_nothing(monkeypatch):
    monkeypatch.delenv(faults.FAULT_ENV, raising=False)
    monkeypatch.delenv(faults.PAUSE_ENV, raising=False)
    faults.enter_stage("evaluate")
    faults.reached("output-written")
    assert faults._reached == {}, "points are counted only while a fault or pause is requested"
    faults._stage = None
