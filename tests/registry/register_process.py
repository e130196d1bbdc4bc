"""One register call in its own process, started when a go-file appears (the concurrency test's racer).

python -m tests.registry.register_process PROJECT RUN_ID MODEL_URI DATASET VALUE GO_FILE OUT_JSON
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from betavae.tracking.client import client_for
from betavae.tracking.promotion import register_run


def main(project: str, run_id: str, model_uri: str, dataset: str, value: str, go: str, out: str) -> None:
    client = client_for(Path(project))
    Path(out + ".ready").touch()
    deadline = time.monotonic() + 120
    while not Path(go).exists():
        if time.monotonic() > deadline:
            raise TimeoutError("no go signal")
        time.sleep(0.01)
    entry = register_run(
        client,
        run_id=run_id,
        model_source=model_uri,
        dataset=dataset,
        metric="m",
        mode="max",
        value=float(value),
        scores={"m": float(value)},
    )
    Path(out).write_text(json.dumps(entry.to_dict()))


if __name__ == "__main__":
    main(*sys.argv[1:])
