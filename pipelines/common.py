"""Shared set-up of the stage entry points: project root and paths, parameters, and the error guard."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from betavae import faults
from betavae.config.whole import load_checked_params
from betavae.errors import BetavaeError
from betavae.paths import ProjectPaths, project_root

ROOT = project_root()
PATHS = ProjectPaths(ROOT)


def environment_with_this_python() -> dict[str, str]:
    """The environment with this interpreter's `bin/` first on PATH, so `dvc` and the `python` of the stage
    commands in `dvc.yaml` are the ones this process runs in (a `.venv/bin/python -m pipelines...` call
    works without activating the environment)."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def params() -> dict[str, Any]:
    """`params.yaml`, every section checked (:func:`betavae.config.whole.check_params`): whichever stage
    runs first refuses a mistake that a later stage would meet."""
    return load_checked_params(PATHS.params_file)


def show_library_logs() -> None:
    """Let the library's INFO lines (`betavae.*`) through: to a stage's console, and in a flow run on a
    worker with `PREFECT_LOGGING_EXTRA_LOGGERS=betavae` (`pipelines/prefect.yaml`) to the flow run's log
    in Prefect. Left without a level, `betavae` takes the root logger's (WARNING) and drops them."""
    logging.getLogger("betavae").setLevel(logging.INFO)


def main_guard(fn: Callable[..., Any], *args: Any, flow: bool = False) -> None:
    """Run a stage; a known error prints one clear line and exits 1 so `dvc repro` stops there.

    With `flow`, `fn` is a Prefect flow run against a temporary server bound to this process
    (:mod:`pipelines.prefect_server`), so no server outlives the stage, even a killed one.
    """
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    show_library_logs()
    try:
        faults.enter_stage(Path(sys.argv[0]).stem)  # `python -m pipelines.<stage>`: BETAVAE_FAULT/PAUSE address it
        if flow:
            from pipelines.prefect_server import temporary_prefect_server

            with temporary_prefect_server(ROOT):
                fn(*args)
        else:
            fn(*args)
    except BetavaeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
