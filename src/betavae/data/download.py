"""Fetch dataset files: stream to a temp file, verify size and checksum, move into place atomically.

Sources are ``http://``/``https://``/``file://`` URLs or local paths. A file is only ever visible under
its final name once it has been received completely and its checksum (when one is known) matches, so
an interrupted or corrupt download never poisons the cache. Files with a known checksum are cached by
that checksum: asking twice for the same file downloads it once.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from betavae.config.datasets import ALGORITHMS, Checksum
from betavae.errors import ConfigError, DataError

__all__ = [
    "fetch",
    "fetch_cached",
    "file_digest",
    "resolve_inside",
    "verify_file",
]

log = logging.getLogger(__name__)

_CHUNK = 1 << 20  # 1 MiB per read: large enough to be fast, small enough to stay flat in memory
_USER_AGENT = "betavae-data/0.1"
_LOG_EVERY = 256 << 20  # log download progress every 256 MiB


class _TransientError(DataError):
    """A failure worth retrying: connection refused or reset, timeout, truncated transfer."""


def resolve_inside(
    path: str | os.PathLike[str],
    project_root: str | os.PathLike[str],
    *,
    allow_outside: bool = False,
    what: str = "path",
) -> Path:
    """Resolve ``path`` (relative paths are taken from ``project_root``) and check it lies inside it.

    Raises:
        ConfigError: the resolved path lies outside the project root and ``allow_outside`` is false.
            The message names both paths.
    """
    root = Path(project_root).expanduser().resolve()
    candidate = Path(path).expanduser()
    if not candidate.is_absolute():
        candidate = root / candidate
    resolved = candidate.resolve()
    if not allow_outside and not resolved.is_relative_to(root):
        raise ConfigError(
            f"{what} {str(path)!r} resolves to {resolved}, which lies outside the project root {root}; "
            "move it inside the project or set allow_outside_project: true"
        )
    return resolved


def file_digest(path: str | os.PathLike[str], algorithm: str, *, chunk_size: int = _CHUNK) -> str:
    """Hex digest of a file, read in chunks so that files larger than memory can be hashed."""
    if algorithm not in ALGORITHMS:
        raise ConfigError(f"checksum algorithm must be one of {sorted(ALGORITHMS)}, got {algorithm!r}")
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while block := handle.read(chunk_size):
            digest.update(block)
    return digest.hexdigest()


def verify_file(path: str | os.PathLike[str], checksum: Checksum | None) -> Path:
    """Check that ``path`` is a readable file whose digest matches ``checksum`` (when given).

    Raises:
        DataError: the file is missing, or "checksum mismatch for <file>: expected X, got Y".
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"dataset file {path} does not exist or is not a regular file")
    if checksum is not None:
        actual = file_digest(path, checksum.algorithm)
        if actual != checksum.value:
            raise DataError(
                f"checksum mismatch for {path.name}: expected {checksum.value}, got {actual} "
                f"({checksum.algorithm} of {path})"
            )
    return path


def _open_source(
    source: str, project_root: Path, allow_outside: bool, timeout: float
) -> tuple[BinaryIO, int | None, str]:
    """Open a URL or local path for streaming; return (stream, expected size or None, display name)."""
    scheme = urllib.parse.urlsplit(source).scheme
    if scheme in ("http", "https"):
        request = urllib.request.Request(source, headers={"User-Agent": _USER_AGENT})
        try:
            response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 (scheme checked)
        except urllib.error.HTTPError as exc:
            raise DataError(f"download failed: HTTP {exc.code} {exc.reason} from {source}") from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise _TransientError(f"download failed: cannot reach {source}: {reason}") from exc
        content_type = response.headers.get("Content-Type", "")
        if content_type.split(";")[0].strip().lower() == "text/html":
            response.close()
            raise DataError(
                f"download failed: {source} returned an HTML page instead of the data file "
                "(a login or confirmation page?); download it by hand and use source: path"
            )
        length = response.headers.get("Content-Length")
        expected = int(length) if length is not None and length.strip().isdigit() else None
        return response, expected, source
    if scheme == "file":
        local = urllib.request.url2pathname(urllib.parse.urlsplit(source).path)
    elif scheme:
        raise ConfigError(f"unsupported URL scheme {scheme!r} in {source!r}; expected http, https or file")
    else:
        local = source
    path = resolve_inside(local, project_root, allow_outside=allow_outside, what="source path")
    if not path.is_file():
        raise DataError(f"source file {path} does not exist or is not a regular file")
    handle = open(path, "rb")  # noqa: SIM115 (closed by the caller)
    return handle, path.stat().st_size, str(path)


def _stream_to(stream: BinaryIO, target: BinaryIO, digest: hashlib._Hash | None, chunk_size: int) -> Iterator[int]:
    """Copy ``stream`` to ``target`` chunk by chunk, updating ``digest``; yield bytes copied so far."""
    received = 0
    while True:
        try:
            block = stream.read(chunk_size)
        except http.client.IncompleteRead as exc:
            block = exc.partial
            target.write(block)
            if digest is not None:
                digest.update(block)
            received += len(block)
            yield received
            return
        if not block:
            return
        target.write(block)
        if digest is not None:
            digest.update(block)
        received += len(block)
        yield received


def _fetch_once(
    source: str,
    dest: Path,
    checksum: Checksum | None,
    project_root: Path,
    allow_outside: bool,
    timeout: float,
    chunk_size: int,
    progress: Callable[[int, int | None], None] | None,
) -> None:
    stream, expected, shown = _open_source(source, project_root, allow_outside, timeout)
    temp = dest.parent / f".{dest.name}.part-{uuid.uuid4().hex[:12]}"
    digest = checksum.new_hash() if checksum is not None else None
    received = 0
    try:
        with stream, open(temp, "wb") as out:
            try:
                next_log = _LOG_EVERY
                for received in _stream_to(stream, out, digest, chunk_size):
                    if progress is not None:
                        progress(received, expected)
                    if received >= next_log:
                        log.info(
                            "%s: %d MiB of %s", shown, received >> 20, f"{expected >> 20} MiB" if expected else "?"
                        )
                        next_log += _LOG_EVERY
            except (TimeoutError, ConnectionError) as exc:
                raise _TransientError(f"download failed after {received} bytes from {shown}: {exc}") from exc
            out.flush()
            os.fsync(out.fileno())
        if expected is not None and received != expected:
            raise _TransientError(f"truncated download: got {received} of {expected} bytes from {shown}")
        if checksum is not None and digest is not None:
            actual = digest.hexdigest()
            if actual != checksum.value:
                raise DataError(
                    f"checksum mismatch for {dest.name}: expected {checksum.value}, got {actual} "
                    f"({checksum.algorithm} of the bytes from {shown})"
                )
        os.replace(temp, dest)
    finally:
        temp.unlink(missing_ok=True)


def fetch(
    source: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    project_root: str | os.PathLike[str],
    checksum: Checksum | None = None,
    allow_outside: bool = False,
    timeout: float = 60.0,
    attempts: int = 3,
    retry_wait: float = 2.0,
    chunk_size: int = _CHUNK,
    progress: Callable[[int, int | None], None] | None = None,
) -> Path:
    """Download or copy ``source`` to ``dest``, verified, and return ``dest``.

    The bytes are streamed into a hidden temp file next to ``dest``; the size is checked against the
    ``Content-Length`` (or the source file's size), the digest against ``checksum``, and only then is
    the temp file renamed onto ``dest`` (an atomic ``os.replace``). If ``dest`` already exists and
    matches ``checksum``, nothing is downloaded.

    Connection failures, timeouts and truncated transfers are retried up to ``attempts`` times;
    a checksum mismatch is not (the same URL would serve the same wrong bytes).

    Args:
        source: ``http(s)://`` or ``file://`` URL, or a local path (relative to ``project_root``).
        dest: final path of the file; must lie inside ``project_root`` unless ``allow_outside``.
        project_root: the project directory that local paths are resolved against and confined to.
        checksum: expected digest, or None to accept any content (size is still checked).
        allow_outside: permit ``dest`` and local sources outside ``project_root``.
        timeout: seconds without progress before a network read fails.
        attempts: total tries for transient failures (>= 1).
        retry_wait: seconds before the second try, doubled for each further one.
        chunk_size: bytes per read.
        progress: optional callback ``(bytes_received, bytes_expected_or_None)``.

    Raises:
        DataError: "truncated download: got N of M bytes from URL", "checksum mismatch for <file>:
            expected X, got Y", HTTP errors, unreachable hosts, missing source files.
        ConfigError: a path outside the project root, an unsupported URL scheme, bad arguments.
    """
    if attempts < 1:
        raise ConfigError(f"attempts must be >= 1, got {attempts}")
    root = Path(project_root).expanduser().resolve()
    target = resolve_inside(dest, root, allow_outside=allow_outside, what="destination")
    source_str = os.fspath(source)
    if target.exists() and checksum is not None:
        try:
            verify_file(target, checksum)
        except DataError:
            log.warning("cached %s does not match %s; downloading it again", target, checksum)
        else:
            log.info("using cached %s (%s verified)", target, checksum.algorithm)
            return target
    target.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, attempts + 1):
        try:
            log.info("fetching %s -> %s (attempt %d of %d)", source_str, target, attempt, attempts)
            _fetch_once(source_str, target, checksum, root, allow_outside, timeout, chunk_size, progress)
            return target
        except _TransientError as exc:
            if attempt == attempts:
                raise DataError(str(exc)) from exc
            wait = retry_wait * 2 ** (attempt - 1)
            log.warning("%s; retrying in %.1f s", exc, wait)
            time.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


def fetch_cached(
    source: str | os.PathLike[str],
    cache_dir: str | os.PathLike[str],
    *,
    filename: str,
    project_root: str | os.PathLike[str],
    checksum: Checksum | None = None,
    allow_outside: bool = False,
    **options: object,
) -> Path:
    """Fetch ``source`` into a checksum-addressed cache and return the cached file's path.

    With a checksum the file lives at ``cache_dir/<algorithm>-<digest>/<filename>`` and is downloaded
    at most once. Without one it goes to ``cache_dir/unverified/<filename>`` and is fetched every time.
    Extra keyword ``options`` are passed to :func:`fetch`.
    """
    if not filename or Path(filename).name != filename or filename in (".", ".."):
        raise ConfigError(f"cache file name must be a plain file name, got {filename!r}")
    bucket = f"{checksum.algorithm}-{checksum.value}" if checksum is not None else "unverified"
    dest = Path(cache_dir) / bucket / filename
    if checksum is None and dest.exists():
        dest.unlink()
    return fetch(
        source,
        dest,
        project_root=project_root,
        checksum=checksum,
        allow_outside=allow_outside,
        **options,  # type: ignore[arg-type]
    )
