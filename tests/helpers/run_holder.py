"""A process that holds a RUNNING training run until its stdin closes or it is killed.

    python -m tests.helpers.run_holder PROJECT EXPERIMENT_ID PARENT_RUN_ID

It starts the tiny configuration of `run_holder_config()` through the real `train_and_track`, with the
training loop replaced by one logging point (a heartbeat) and a wait on stdin; it prints `holding <run id>`
once the run exists, so the test reads that line from the pipe instead of guessing a time.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from tests.helpers.runs import InMemoryImages, random_binary_images, tiny_params


def run_holder_config() -> Any:
    """The configuration the holder trains, and a second start of it in the test trains again."""
    from betavae.config import expand_sweep

    return expand_sweep(tiny_params(steps=2, log_every=1, checkpoint_every=2), "tiny")[0]


def run_holder_data() -> InMemoryImages:
    return InMemoryImages(random_binary_images(32, 28), digest="e" * 64)


def main(project: str, experiment_id: str, parent_id: str) -> None:
    from betavae.tracking import runs
    from betavae.tracking.client import client_for

    started: list[str] = []
    start_run = runs.start_run

    def start_and_note(*args: Any, **kwargs: Any) -> Any:
        logger = start_run(*args, **kwargs)
        started.append(logger.run_id)
        return logger

    def hold(run: Any, data: Any, checkpoint_dir: Path, *, on_metrics: Any, progress: bool, **_: Any) -> Any:
        on_metrics({"total": 1.0}, 1)  # a logging point of the training loop: refreshes the heartbeat
        print("holding", started[-1], flush=True)
        sys.stdin.read()  # until the test closes the pipe or kills this process
        raise SystemExit("released")

    runs.start_run, runs.train = start_and_note, hold
    runs.train_and_track(
        run_holder_config(),
        run_holder_data(),
        root=Path(project),
        client=client_for(Path(project)),
        experiment_id=experiment_id,
        parent_id=parent_id,
        progress=False,
    )


if __name__ == "__main__":
    main(*sys.argv[1:4])
