"""SIGKILL a DVC stage's process mid-work, the way an out-of-memory killer or a lost node would."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

import psutil


def _stage_processes(dvc: subprocess.Popen, module: str) -> list[psutil.Process]:
    """The descendants of `dvc` that run `python -m <module>`, innermost (the Python stage) first."""
    found = []
    for child in psutil.Process(dvc.pid).children(recursive=True):
        try:
            if module in " ".join(child.cmdline()):
                found.append((len(child.parents()), child))
        except psutil.Error:  # a short-lived child (git) that ended or is a zombie
            continue
    return [proc for _, proc in sorted(found, key=lambda pair: pair[0], reverse=True)]


def kill_stage_when(dvc: subprocess.Popen, module: str, ready: Callable[[psutil.Process], bool],
                    timeout: float = 600) -> None:
    """SIGKILL the `python -m <module>` stage run by `dvc` once `ready(stage process)` holds.

    dvc runs a stage through `$SHELL -c`, or `/bin/sh -c` when unset; dash keeps that shell as the
    Python process's parent, so every matching process is killed, the innermost first.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and dvc.poll() is None:
        stages = _stage_processes(dvc, module)
        try:
            fire = bool(stages) and ready(stages[0])
        except psutil.Error:
            fire = False
        if fire:
            for stage in stages:
                try:
                    stage.kill()
                except psutil.NoSuchProcess:
                    pass
            return
        time.sleep(0.01)
    raise AssertionError(f"{module} ended before it could be killed")


def cpu_seconds_at_least(seconds: float) -> Callable[[psutil.Process], bool]:
    """Ready once the stage has used `seconds` of CPU: past its imports however loaded the machine is."""
    def ready(stage: psutil.Process) -> bool:
        times = stage.cpu_times()
        return times.user + times.system >= seconds
    return ready
