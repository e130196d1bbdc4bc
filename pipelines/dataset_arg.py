"""The dataset argument of the per-dataset stages (`train@<name>`, `evaluate@<name>`, ...)."""

from __future__ import annotations

import sys
from pathlib import Path

from betavae.errors import BetavaeError
from pipelines.common import params


def dataset_argument(argv: list[str]) -> str:
    """The dataset a per-dataset stage runs for: its one command-line argument, one of `data.train_on`."""
    from betavae.config.per_dataset import datasets_to_train

    try:
        names = datasets_to_train(params())
    except BetavaeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    if len(argv) != 2 or argv[1] not in names:
        print(f"usage: python -m {Path(argv[0]).stem} DATASET  (one of data.train_on: {names})", file=sys.stderr)
        sys.exit(2)
    return argv[1]
