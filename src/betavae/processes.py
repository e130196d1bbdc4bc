"""Child processes that never outlive the process that started them.

A server started for one command (the temporary Prefect API of a stage, the scoring server of
`betavae serve`) must stop when that command stops, even when it is killed with SIGKILL and no handler
runs. On Linux the kernel does this: `prctl(PR_SET_PDEATHSIG)` asks it to signal the child when its
parent dies. Elsewhere the caller records the child's pid (see :func:`write_pid_record`) and the next
run stops what a killed one left behind (:func:`reap_orphans`).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

PR_SET_PDEATHSIG = 1
FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def _die_with_parent(parent_pid: int, sig: int) -> None:
    """Runs in the child between fork and exec: ask the kernel for `sig` when the parent dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def spawn_bound(
    args: Sequence[str], *, env: dict[str, str] | None = None, sig: int = signal.SIGTERM, **popen: Any
) -> subprocess.Popen:
    """Start `args` as a child that receives `sig` when this process dies (Linux), in its own process group."""
    parent = os.getpid()
    preexec = (lambda: _die_with_parent(parent, sig)) if sys.platform.startswith("linux") else None
    return subprocess.Popen(list(args), env=env, preexec_fn=preexec, start_new_session=True, **popen)


@contextlib.contextmanager
def forwarding_signals(child: subprocess.Popen) -> Iterator[None]:
    """Pass SIGTERM, SIGINT and SIGHUP received by this process on to `child` while the block runs."""

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def stop(child: subprocess.Popen, timeout: float = 10.0) -> int:
    """SIGTERM `child`, then SIGKILL it if it is still running after `timeout` seconds; return its status."""
    if child.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            child.terminate()
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return int(child.returncode)


def write_pid_record(folder: Path, child_pid: int, owner_pid: int, marker: str) -> Path:
    """Record that `owner_pid` started `child_pid` (whose command line contains `marker`)."""
    from betavae.io import write_json

    return write_json(Path(folder) / f"{child_pid}.json", {"pid": child_pid, "owner": owner_pid, "marker": marker})


def process_alive(pid: int) -> bool:
    """True while a process with this pid exists (also when it belongs to another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def reap_orphans(folder: Path, timeout: float = 5.0) -> list[int]:
    """Stop every recorded child whose owner has died; return the pids stopped.

    A record is trusted only while the pid still runs a command containing its marker, so a pid reused
    by an unrelated process is never signalled.
    """
    stopped = []
    for record_path in sorted(Path(folder).glob("*.json")):
        try:
            record = json.loads(record_path.read_text())
            pid, owner, marker = int(record["pid"]), int(record["owner"]), str(record["marker"])
        except (OSError, ValueError, KeyError, TypeError):
            record_path.unlink(missing_ok=True)
            continue
        if process_alive(owner) and owner != os.getpid():
            continue
        if process_alive(pid) and marker in _cmdline(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGTERM) if os.getpgid(pid) == pid else os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while process_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if process_alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            stopped.append(pid)
        record_path.unlink(missing_ok=True)
    return stopped


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of `/proc/<pid>/stat` after the command name (state first), or None if it cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()  # the name may hold spaces and parentheses


def process_start_time(pid: int) -> str | None:
    """When process `pid` started, as `<boot id>:<clock ticks since boot>` (Linux), so a later process given
    the same pid (or the same pid after a reboot) is told apart; None where `/proc` cannot say."""
    fields = _proc_stat(pid)
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None
    return None if fields is None or len(fields) < 20 else f"{boot}:{fields[19]}"  # field 22 of proc(5)


def process_running(pid: int, started: str | None = None) -> bool:
    """True while the process `pid` runs: it exists and has not exited (a zombie waiting for its parent
    has), and, when `started` (from :func:`process_start_time`) is given and `/proc` can tell, it is still
    the process that started then rather than a later one given the same pid."""
    if not process_alive(pid):
        return False
    fields = _proc_stat(pid)
    if fields is None:  # no /proc (not Linux): the pid exists, which is all that can be known
        return True
    if fields[0] in ("Z", "X"):
        return False
    return started is None or process_start_time(pid) in (None, started)


def pid_space() -> str | None:
    """Where this process's pids mean something: `<machine id>/<pid namespace>` (Linux). Two processes with
    the same host name but another machine id (two machines named alike) or another pid namespace (a
    container sharing the host's name) cannot see each other's pids; None where neither can be read."""
    machine = ""
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            machine = Path(path).read_text().strip()
            break
        except OSError:
            continue
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    return f"{machine}/{namespace}" if machine or namespace else None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on `host` right now (the kernel's choice), for a child server to bind."""
    import socket

    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, child: subprocess.Popen, timeout: float, what: str) -> None:
    """Wait until GET `url` answers 200; `child` (the server) exiting first, or `timeout`, is an error."""
    import urllib.error
    import urllib.request

    from betavae.errors import BetavaeError

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise BetavaeError(f"{what} exited with status {child.returncode} at start")
        with contextlib.suppress(OSError, urllib.error.URLError):
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        time.sleep(0.1)
    raise BetavaeError(f"{what} did not answer {url} within {timeout:.0f} s")
