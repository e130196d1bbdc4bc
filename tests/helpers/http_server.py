"""A real HTTP server on 127.0.0.1 for download tests, serving files from a directory.

Besides plain files it has two misbehaving routes, the failures a downloader must catch:

- ``/truncate/<n>/<file>`` announces the file's full ``Content-Length`` but sends only its first
  ``n`` bytes and closes the connection;
- ``/status/<code>/<anything>`` answers with that HTTP status code;
- ``/html/<anything>`` answers 200 with an HTML page (what a login or confirmation wall serves).

Every connection has a socket timeout, the server runs in a daemon thread, and leaving the context
shuts it down and joins the thread, so a test can never hang on it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

__all__ = ["serve_directory"]

_SOCKET_TIMEOUT_S = 5.0


class _Handler(SimpleHTTPRequestHandler):
    timeout = _SOCKET_TIMEOUT_S
    requests_seen: list[str]

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib signature)
        """Keep test output quiet."""

    def do_GET(self) -> None:  # noqa: N802 (stdlib name)
        self.server.requests_seen.append(self.path)  # type: ignore[attr-defined]
        parts = self.path.lstrip("/").split("/")
        if parts[0] == "truncate" and len(parts) >= 3:
            self._send_truncated(int(parts[1]), "/".join(parts[2:]))
        elif parts[0] == "status" and len(parts) >= 2:
            self.send_error(int(parts[1]))
        elif parts[0] == "html":
            body = b"<html><body>Please confirm the download</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            super().do_GET()

    def _send_truncated(self, keep: int, name: str) -> None:
        data = (Path(self.directory) / name).read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[:keep])
        self.wfile.flush()
        self.close_connection = True


@contextmanager
def serve_directory(root: Path) -> Iterator[tuple[str, list[str]]]:
    """Serve ``root`` on 127.0.0.1 (a free port); yield (base URL, list of request paths seen)."""

    def handler(*args: object, **kwargs: object) -> _Handler:
        return _Handler(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)  # type: ignore[arg-type]
    server.daemon_threads = True
    server.requests_seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield f"http://{host}:{port}", server.requests_seen  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5.0)
