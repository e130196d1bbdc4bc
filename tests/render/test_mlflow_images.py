"""Pictures into MLflow: one image per kind and step, however often a sweep is rendered again."""

from __future__ import annotations

import numpy as np
from mlflow.tracking import MlflowClient
from PIL import Image

from betavae.render.mlflow_log import log_run_pictures


def _png(path, value: int):
    Image.fromarray(np.full((8, 8, 3), value, dtype=np.uint8)).save(path)
    return path


def _logged_images(client: MlflowClient, run_id: str) -> list[str]:
    return sorted(f.path for f in client.list_artifacts(run_id, "images") if f.path.endswith(".png"))


def test_rendering_again_logs_no_second_copy_and_a_changed_picture_is_logged(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment("pictures", artifact_location=(tmp_path / "artifacts").as_uri())
    run_id = client.create_run(experiment).info.run_id
    pictures = {"traversal": _png(tmp_path / "traversal.png", 10), "samples": _png(tmp_path / "samples.png", 20)}

    log_run_pictures(client, run_id, pictures, step=30)
    first = _logged_images(client, run_id)
    assert len(first) == 2 and any("traversal+step+30+" in p for p in first)

    log_run_pictures(client, run_id, pictures, step=30)
    assert _logged_images(client, run_id) == first

    _png(pictures["traversal"], 99)  # a re-render with other settings draws a different picture
    log_run_pictures(client, run_id, pictures, step=30)
    changed = _logged_images(client, run_id)
    assert len(changed) == 3 and sum("traversal+step+30+" in p for p in changed) == 2
    assert sorted(f.path for f in client.list_artifacts(run_id, "pictures")) == ["pictures/samples.png"]
