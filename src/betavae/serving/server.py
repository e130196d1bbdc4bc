"""`betavae serve`: MLflow's scoring server for a registered model, bound to loopback unless told otherwise.

The model package is downloaded once, then MLflow's scoring app runs in one uvicorn process started
directly (not through `mlflow models serve`, whose own child would survive a signal to its parent).
SIGTERM, SIGINT and SIGHUP are passed on to the server, and the kernel stops it if this command is
killed outright (:mod:`betavae.processes`), so stopping `betavae serve` leaves nothing on the port.
"""

from __future__ import annotations

import shlex
import shutil
import sys
import tempfile
from pathlib import Path

from betavae.errors import DataError
from betavae.processes import forwarding_signals, spawn_bound, stop

LOOPBACK = "127.0.0.1"


def download_model(dataset: str, alias: str, root: Path, dest: Path) -> Path:
    """Fetch the package of `betavae-<dataset>@<alias>` into `dest`; a missing model raises DataError."""
    import mlflow

    from betavae.tracking.client import client_for
    from betavae.tracking.registry import model_uri

    client_for(root)
    uri = model_uri(dataset, alias)
    try:
        return Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(dest)))
    except mlflow.exceptions.MlflowException as exc:
        raise DataError(f"no registered model {uri}: {exc.message}") from exc


def server_command(model_dir: Path, host: str, port: int) -> tuple[list[str], dict[str, str]]:
    """The uvicorn command line and environment of MLflow's scoring server for one local model, one worker."""
    from mlflow.pyfunc import scoring_server

    # MLflow annotates `host` as int | None, yet quotes it into the command line as a host name
    command, env = scoring_server.get_cmd(str(model_dir), port=port, host=host, nworkers=1)  # type: ignore[arg-type]
    args = shlex.split(command)
    assert args[0] == "uvicorn", command
    return [sys.executable, "-m", *args], env


def serve(
    source: str, alias: str, root: Path, *, host: str = LOOPBACK, port: int = 5001, package: Path | None = None
) -> int:
    """Serve a model until the server stops or this process is told to stop; return the server's status.

    `package`, a folder made by `betavae pull`, is served as it is; otherwise the registered model
    `betavae-<source>@<alias>` is downloaded first. Requests are checked the same way in both cases (the
    checks are the package's own, :mod:`betavae.serving.betavae_model`).
    """
    if not 0 < port < 65536:
        raise DataError(f"--port must lie in 1..65535, got {port}")
    workdir = Path(tempfile.mkdtemp(prefix="betavae-serve-"))
    try:
        if package is not None:
            model_dir, label = package.resolve(), str(package)
        else:
            model_dir, label = download_model(source, alias, root, workdir), f"betavae-{source}@{alias}"
        args, env = server_command(model_dir, host, port)
        print(f"serving {label} on http://{host}:{port}/invocations", flush=True)
        child = spawn_bound(args, env=env)
        with forwarding_signals(child):
            try:
                child.wait()
            finally:
                stop(child)
        return int(child.returncode)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
