"""Watching processes from the tests: alive or gone, and where they listen."""

from __future__ import annotations

import os
import time
from pathlib import Path


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[1].startswith("Z"))


def wait_gone(pid: int, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


def listening_addresses(pid: int) -> set[str]:
    """Local addresses of the TCP sockets `pid` listens on."""
    import psutil

    return {f"{c.laddr.ip}" for c in psutil.Process(pid).net_connections(kind="tcp") if c.status == "LISTEN"}
