"""Shared set-up of the stage entry points: project root, parameters, and the embedded Prefect default."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

from betavae.config import load_params
from betavae.errors import BetavaeError

ROOT = Path(os.environ.get("BETAVAE_ROOT", Path.cwd())).resolve()


def configure_prefect() -> None:
    """Without `PREFECT_API_URL`, flows run against a temporary local server whose state lives in
    `.prefect/` inside the project; analytics are off because the machines may have no internet."""
    os.environ.setdefault("PREFECT_HOME", str(ROOT / ".prefect"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


def params() -> dict[str, Any]:
    return load_params(ROOT / "params.yaml")


def main_guard(fn, *args: Any) -> None:
    """Run a stage; a known error prints one clear line and exits 1 so `dvc repro` stops there."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        fn(*args)
    except BetavaeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
