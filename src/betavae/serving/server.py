"""`betavae serve`: MLflow's scoring server for a registered model, bound to loopback unless told otherwise.

The model package is downloaded once, then MLflow's scoring app runs in one uvicorn process started
directly (not through `mlflow models serve`, whose own child would survive a signal to its parent).
SIGTERM, SIGINT and SIGHUP are passed on to the server, and the kernel stops it if this command is
killed outright (:mod:`betavae.processes`), so stopping `betavae serve` leaves nothing on the port.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from betavae.errors import DataError
from betavae.processes import forwarding_signals, spawn_bound, stop

LOOPBACK = "127.0.0.1"


def server_command(
    model_dir: Path, host: str, port: int, allow_other_version: bool = False
) -> tuple[list[str], dict[str, str]]:
    """The uvicorn command line and environment of the scoring server for one package folder, one worker:
    MLflow's scoring app around the package loaded with installed code (:mod:`betavae.serving.scoring_app`)."""
    from mlflow.environment_variables import MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT

    from betavae.serving.trusted import ALLOW_OTHER_VERSION_ENV, MODEL_ENV

    env = dict(os.environ)
    env[MODEL_ENV] = str(model_dir)
    env[ALLOW_OTHER_VERSION_ENV] = "1" if allow_other_version else "0"
    env[MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT.name] = str(MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT.get())
    args = ["--host", host, "--port", str(port), "--workers", "1", "betavae.serving.scoring_app:app"]
    return [sys.executable, "-m", "uvicorn", *args], env


def serve(
    source: str,
    alias: str,
    root: Path,
    *,
    host: str = LOOPBACK,
    port: int = 5001,
    package: Path | None = None,
    allow_other_version: bool = False,
) -> int:
    """Serve a model until the server stops or this process is told to stop; return the server's status.

    `package`, a folder made by `betavae pull`, is served as it is; otherwise the registered model
    `betavae-<source>@<alias>` is downloaded first. Requests are checked the same way in both cases (the
    checks of the installed :mod:`betavae.serving.betavae_model`). The package's manifest is checked
    before the server starts (:func:`betavae.serving.trusted.check_manifest`); its code is never run.
    """
    from betavae.serving.package import download_package, registry_uri
    from betavae.serving.trusted import check_manifest
    from betavae.tracking.client import client_for

    if not 0 < port < 65536:
        raise DataError(f"--port must lie in 1..65535, got {port}")
    workdir = Path(tempfile.mkdtemp(prefix="betavae-serve-"))
    try:
        if package is not None:
            model_dir, label = package.resolve(), str(package)
        else:
            client_for(root)
            model_dir, label = download_package(registry_uri(source, alias), workdir), f"betavae-{source}@{alias}"
        check_manifest(model_dir, allow_other_version)
        args, env = server_command(model_dir, host, port, allow_other_version)
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
