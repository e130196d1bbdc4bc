"""A configuration's training state in the tracking store, so a resubmitted run resumes on any worker.

With a tracking server (an `http(s)` URI: workers on several machines), each checkpoint of a run
(`last.pt`, with the optimiser and RNG state, and the snapshots kept so far) is uploaded to its MLflow
run under `training_state/` at every `train.checkpoint_every` (:func:`upload_training_state`). When the
same configuration is trained again in the same sweep on a machine that holds no checkpoint of it, the
newest earlier attempt's state is downloaded first (:func:`fetch_training_state`) and the engine resumes
from it, to the same weights as an uninterrupted run. With the project's own sqlite store the state stays
on the machine, as before: every attempt runs there.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from mlflow.tracking import MlflowClient

from betavae.paths import LAST_STATE_FILE, SNAPSHOTS_DIR
from betavae.tracking.tags import CONFIG_DIGEST_TAG

STATE_ARTIFACT = "training_state"


def shares_training_state(tracking_uri: str) -> bool:
    """Whether runs on other machines can read this store's artifacts: a tracking server."""
    return tracking_uri.startswith(("http://", "https://"))


def upload_training_state(client: MlflowClient, run_id: str, checkpoint_dir: Path) -> None:
    """Copy `checkpoint_dir`'s `last.pt` and snapshots to `run_id`'s artifacts under `training_state/`."""
    client.log_artifact(run_id, str(checkpoint_dir / LAST_STATE_FILE), STATE_ARTIFACT)
    snapshots = checkpoint_dir / SNAPSHOTS_DIR
    if snapshots.is_dir():
        client.log_artifacts(run_id, str(snapshots), f"{STATE_ARTIFACT}/{SNAPSHOTS_DIR}")


def fetch_training_state(
    client: MlflowClient, experiment_id: str, parent_id: str, config_digest: str, checkpoint_dir: Path
) -> str | None:
    """Download the newest shared state of an earlier attempt of this configuration in this sweep (parent
    run) into `checkpoint_dir`, unless it already holds a checkpoint; returns that attempt's run id, or
    None when there was nothing to fetch. The engine still checks the state's configuration and data."""
    if (checkpoint_dir / LAST_STATE_FILE).exists():
        return None
    query = f"tags.`{CONFIG_DIGEST_TAG}` = '{config_digest}' and tags.mlflow.parentRunId = '{parent_id}'"
    attempts = client.search_runs([experiment_id], filter_string=query, order_by=["attributes.start_time DESC"])
    for attempt in attempts:
        names = {f.path for f in client.list_artifacts(attempt.info.run_id, STATE_ARTIFACT)}
        if f"{STATE_ARTIFACT}/{LAST_STATE_FILE}" not in names:
            continue
        checkpoint_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=checkpoint_dir, prefix=".fetch-") as tmp:
            local = Path(client.download_artifacts(attempt.info.run_id, STATE_ARTIFACT, tmp))
            if (local / SNAPSHOTS_DIR).is_dir():
                shutil.copytree(local / SNAPSHOTS_DIR, checkpoint_dir / SNAPSHOTS_DIR, dirs_exist_ok=True)
            (local / LAST_STATE_FILE).rename(checkpoint_dir / LAST_STATE_FILE)  # last, and in one step
        return attempt.info.run_id
    return None
