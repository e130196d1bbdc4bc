"""Shared set-up of the stage entry points: project root and paths, parameters, and the error guard."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from betavae.config import load_params
from betavae.errors import BetavaeError
from betavae.paths import ProjectPaths, project_root

ROOT = project_root()
PATHS = ProjectPaths(ROOT)


def params() -> dict[str, Any]:
    return load_params(PATHS.params_file)


def main_guard(fn: Callable[..., Any], *args: Any) -> None:
    """Run a stage; a known error prints one clear line and exits 1 so `dvc repro` stops there."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("betavae").setLevel(logging.INFO)
    try:
        fn(*args)
    except BetavaeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
