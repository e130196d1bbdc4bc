"""Atomic file output: readers never see a half-written file, and a failure leaves nothing behind.

Files appear with the permissions any other file of the user gets (``0o666`` less the umask), not the
``0o600`` of :func:`tempfile.mkstemp`, so a shared worker's web server or another user can read plots,
reports and checkpoints exactly as the user's umask allows.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from betavae import faults
from betavae.errors import disk_full


def current_umask() -> int:
    """The process umask, read without changing it where Linux exposes it (``/proc/self/status``)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # elsewhere: swap and restore (not thread-safe, hence the /proc path first)
    os.umask(mask)
    return mask


def default_file_mode() -> int:
    """Mode of a newly created regular file: ``0o666`` less the umask."""
    return 0o666 & ~current_umask()


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary sibling of `path`; on success it replaces `path`, on error it is removed.

    Running out of space while writing it (ENOSPC, also when torch or another library wraps it) raises
    :class:`~betavae.errors.DiskFull` naming the folder, in one line.

    The temporary name starts with a dot and ends in ``.tmp``, so no reader globbing for the final name
    ever opens it, and a process killed mid-write leaves the previous `path` intact.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, default_file_mode())
    finally:
        os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
        faults.reached("output-written")
    except Exception as exc:
        full = disk_full(exc, path.parent)
        if full is not None:
            raise full from exc
        raise
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_bytes(path: Path, data: bytes) -> Path:
    """Write `data` to `path`, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


def write_json(path: Path, payload: Any) -> Path:
    """Write `payload` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
    return path


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text())


def replace_dir(tmp: Path, out_dir: Path) -> None:
    """Move directory ``tmp`` to ``out_dir``; an existing ``out_dir`` is swapped out first, then deleted."""
    old = None
    if out_dir.exists():
        old = out_dir.parent / f".{out_dir.name}.old-{uuid.uuid4().hex}"
        os.replace(out_dir, old)
    try:
        os.replace(tmp, out_dir)
    except BaseException:
        if old is not None:
            os.replace(old, out_dir)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
