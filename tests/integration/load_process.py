"""One of the load test's trainers: train a tiny model once a go-file appears, logging to the tracking
server of `MLFLOW_TRACKING_URI`, and write its run record as JSON.

python -m tests.integration.load_process PROJECT EXPERIMENT_ID PARENT_RUN_ID SEED GO_FILE OUT_JSON
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from betavae.config import build_run_config
from betavae.tracking.client import client_for
from betavae.tracking.runs import train_and_track
from tests.helpers.runs import InMemoryImages, random_binary_images, tiny_params

STEPS, LOG_EVERY = 20, 5


def main(project: str, experiment_id: str, parent_id: str, seed: str, go: str, out: str) -> None:
    client = client_for(Path(project))
    run = build_run_config(tiny_params(steps=STEPS, log_every=LOG_EVERY, checkpoint_every=10, seed=int(seed)), "tiny")
    data = InMemoryImages(random_binary_images(64, 28, seed=int(seed)))
    Path(out + ".ready").touch()
    deadline = time.monotonic() + 180
    while not Path(go).exists():
        if time.monotonic() > deadline:
            raise TimeoutError("no go signal")
        time.sleep(0.01)
    record = train_and_track(
        run, data, root=Path(project), client=client, experiment_id=experiment_id, parent_id=parent_id, progress=False
    )
    Path(out).write_text(json.dumps(record.to_dict()))


if __name__ == "__main__":
    main(*sys.argv[1:])
