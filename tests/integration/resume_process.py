"""A training process of the resume test: train the tiny configuration as the `train` stage, logging to the
tracking server of `MLFLOW_TRACKING_URI` with `PROJECT` as this machine's folder, and write its record.

python -m tests.integration.resume_process PROJECT EXPERIMENT_ID PARENT_RUN_ID OUT_JSON
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from betavae import faults
from betavae.config import build_run_config
from betavae.tracking.client import client_for
from betavae.tracking.runs import train_and_track
from tests.helpers.runs import InMemoryImages, random_binary_images, tiny_params

PARAMS = tiny_params(steps=40, checkpoint_every=10, log_every=10, snapshots=[15, 35])


def main(project: str, experiment_id: str, parent_id: str, out: str) -> None:
    faults.enter_stage("train")
    record = train_and_track(
        build_run_config(PARAMS, "tiny"),
        InMemoryImages(random_binary_images(64, 28)),
        root=Path(project),
        client=client_for(Path(project)),
        experiment_id=experiment_id,
        parent_id=parent_id,
        progress=False,
    )
    Path(out).write_text(json.dumps(record.to_dict()))


if __name__ == "__main__":
    main(*sys.argv[1:])
