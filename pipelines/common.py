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


def params() -> dict[str, Any]:
    return load_params(ROOT / "params.yaml")


def main_guard(fn, *args: Any) -> None:
    """Run a stage; a known error prints one clear line and exits 1 so `dvc repro` stops there."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("betavae").setLevel(logging.INFO)
    try:
        fn(*args)
    except BetavaeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)


def dataset_argument(argv: list[str]) -> str:
    """The dataset a per-dataset stage runs for: its one command-line argument, one of `data.train_on`."""
    from betavae.per_dataset import datasets_to_train

    try:
        names = datasets_to_train(params())
    except BetavaeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    if len(argv) != 2 or argv[1] not in names:
        print(f"usage: python -m {Path(argv[0]).stem} DATASET  (one of data.train_on: {names})", file=sys.stderr)
        sys.exit(2)
    return argv[1]
