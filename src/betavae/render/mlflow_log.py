"""Pictures and tables into MLflow: per-run pictures on each run, sweep plots and the comparison on the parent.

PNGs go through `log_image(key=..., step=...)`, which the MLflow UI (3.x) shows in its charts view and
compares across runs; the files themselves are also kept as artifacts (`traversals/`, `pictures/`,
`sweep/`), and the comparison as an MLflow table (`comparison.json`, shown by the UI's artifact view
and `mlflow.load_table`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from betavae.tracking.tags import IMAGE_SHA256_PREFIX

#: Picture kinds kept under the run's `traversals/` artifact folder; the rest go to `pictures/`.
TRAVERSAL_KINDS = ("traversal", "traversal_gif")


def log_run_pictures(client: Any, run_id: str, pictures: Mapping[str, Path], step: int) -> None:
    """Log every picture of a run: PNGs as MLflow images under their kind, all files as artifacts.

    MLflow keeps every `log_image` call as a new image, so a re-render would stack copies in the UI; a
    PNG whose bytes were already logged under its kind at this step (tag `betavae.image_sha256.<kind>`)
    is not logged again. Artifacts are overwritten in place.
    """
    logged = client.get_run(run_id).data.tags
    for kind, path in pictures.items():
        path = Path(path)
        if path.suffix == ".png":
            tag = f"{IMAGE_SHA256_PREFIX}{kind}"
            digest = f"{hashlib.sha256(path.read_bytes()).hexdigest()}@{step}"
            if logged.get(tag) != digest:
                with Image.open(path) as img:
                    client.log_image(run_id, img.convert("RGB"), key=kind, step=step)
                client.set_tag(run_id, tag, digest)
        client.log_artifact(run_id, str(path), "traversals" if kind in TRAVERSAL_KINDS else "pictures")


def log_sweep_results(
    client: Any, parent_run_id: str, pictures: Mapping[str, Path], rows: Sequence[Mapping[str, Any]]
) -> None:
    """Sweep plots and the comparison table (one row per run) on the sweep's parent run."""
    import pandas as pd

    for path in pictures.values():
        client.log_artifact(parent_run_id, str(path), "sweep")
    client.log_table(parent_run_id, data=pd.DataFrame(list(rows)), artifact_file="comparison.json")
