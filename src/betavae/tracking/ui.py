"""What the MLflow UI shows of the project's runs: experiment kind, dataset inputs, source, sweep names.

- Experiment kind: MLflow 3 opens an experiment either in its GenAI view (traces) or in its model-training
  view (runs). Experiments get the tag `mlflow.experimentKind = custom_model_development`, which the UI
  reads when its workflow switch is off, and every link the project writes carries
  `?workflowType=machine_learning`, which the 3.17 UI (whose global GenAI / machine-learning switch
  otherwise defaults to GenAI) honours and remembers.
- Dataset: each training run, and each sweep's parent run, logs its dataset as an MLflow dataset input
  (name, digest, source URI), so the runs table's Dataset column names it.
- Source: `mlflow.source.name`/`type` name the entry point and `mlflow.source.git.commit` the commit.
- Sweep parent runs are named after what they sweep and when, so two sweeps can be told apart.
- Links: where the UI is (:func:`ui_base`) and the addresses of a run's page and of an experiment's runs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlflow.entities import Dataset, DatasetInput, InputTag
from mlflow.tracking import MlflowClient

from betavae.data.protocols import ImageSet
from betavae.tracking.tags import (
    DATASET_CONTEXT_TAG,
    EXPERIMENT_KIND_TAG,
    GIT_COMMIT_SOURCE_TAG,
    SOURCE_NAME_TAG,
    SOURCE_TYPE_TAG,
)

TRAINING_KIND = "custom_model_development"
DIGEST_CHARS = 16  # MLflow stores at most 36 characters of a dataset digest; the full sha256 is a run tag
UI_ENV = "BETAVAE_MLFLOW_UI"
DEFAULT_UI = "http://127.0.0.1:5000"  # where `make mlflow-ui` serves the UI
ML_VIEW = "workflowType=machine_learning"  # the query that opens the model-training view, not GenAI


def mark_training_experiment(client: MlflowClient, experiment_id: str) -> None:
    """Tag the experiment as model training (not GenAI), so the UI opens its runs."""
    client.set_experiment_tag(experiment_id, EXPERIMENT_KIND_TAG, TRAINING_KIND)


def dataset_input(
    name: str, digest: str, source_uri: str, profile: Mapping[str, Any] | None = None, context: str = "training"
) -> DatasetInput:
    """An MLflow dataset input: `name`, the first characters of the sha256 `digest`, a local source URI."""
    dataset = Dataset(
        name=name,
        digest=(digest or "unknown")[:DIGEST_CHARS],
        source_type="local",
        source=json.dumps({"uri": source_uri}),
        profile=json.dumps(dict(profile or {}), sort_keys=True, default=str),
    )
    return DatasetInput(dataset=dataset, tags=[InputTag(key=DATASET_CONTEXT_TAG, value=context)])


def log_dataset(client: MlflowClient, run_id: str, data: ImageSet, name: str) -> None:
    """Log `data` (a stored dataset, or anything with `digest` and `images`) as the run's training input."""
    path = getattr(data, "path", None)
    source = Path(path).resolve().as_uri() if path else f"memory:{name}"
    manifest = getattr(data, "manifest", {}) or {}
    _log_input(client, run_id, name, getattr(data, "digest", ""), source, len(data.images), manifest)


def log_stored_dataset(client: MlflowClient, run_id: str, dataset_dir: Path, name: str) -> None:
    """Log the stored dataset at `dataset_dir` as the run's training input from its manifest alone, without
    reading its images (for a sweep's parent run, whose children load the data)."""
    from betavae.data.storage import dataset_digest, read_manifest

    manifest = read_manifest(dataset_dir)
    _log_input(
        client,
        run_id,
        name,
        dataset_digest(manifest),
        Path(dataset_dir).resolve().as_uri(),
        int(manifest["num_images"]),
        manifest,
    )


def _log_input(
    client: MlflowClient, run_id: str, name: str, digest: str, source: str, num_images: int, manifest: Mapping[str, Any]
) -> None:
    profile = {
        "num_images": num_images,
        "sha256": digest,
        "kind": manifest.get("kind"),
        "source": manifest.get("source"),
    }
    split = manifest.get("split")
    if split:  # the images training drew from and those it was judged on
        profile.update(num_train=split["num_train"], num_test=split["num_test"])
    entry = dataset_input(name, digest, source, profile)
    try:
        client.log_inputs(run_id, datasets=[entry])
    except Exception as exc:
        # Runs started at once (a sweep fanned out over workers) insert the same dataset row of the
        # experiment together; on a database server the loser gets a unique-key violation, though the row
        # it wanted now exists. Logging again links the run to that row.
        if "unique" not in str(exc).lower() and "duplicate" not in str(exc).lower():
            raise
        client.log_inputs(run_id, datasets=[entry])


def source_tags(entry_point: str, commit: str) -> dict[str, str]:
    """Run tags naming the code that made the run (the UI's Source column and its commit)."""
    return {SOURCE_NAME_TAG: entry_point, SOURCE_TYPE_TAG: "LOCAL", GIT_COMMIT_SOURCE_TAG: commit}


def sweep_run_name(
    name: str, grid: Mapping[str, Sequence[Any]], seeds: Sequence[int], when: datetime | None = None
) -> str:
    """A parent run name that tells sweeps apart: `beta-sweep train.beta=1,4 seeds=0,1 2026-11-24T09:30Z`."""
    when = (when or datetime.now(UTC)).astimezone(UTC)
    swept = " ".join(
        f"{k}={','.join(f'{v:g}' if isinstance(v, float) else str(v) for v in vs)}" for k, vs in grid.items()
    )
    seeds_text = ",".join(str(s) for s in seeds)
    return " ".join(part for part in (name, swept, f"seeds={seeds_text}", when.strftime("%Y-%m-%dT%H:%M:%SZ")) if part)


def ui_base(tracking_uri: str) -> str:
    """Where users open the MLflow UI: `BETAVAE_MLFLOW_UI`, an http tracking server, or `make mlflow-ui`'s."""
    if os.environ.get(UI_ENV):
        return os.environ[UI_ENV].rstrip("/")
    return tracking_uri.rstrip("/") if tracking_uri.startswith(("http://", "https://")) else DEFAULT_UI


def run_url(base: str, experiment_id: str, run_id: str) -> str:
    """Link to a run's page in the model-training view of the MLflow UI (not the GenAI view)."""
    return f"{base}/#/experiments/{experiment_id}/runs/{run_id}?{ML_VIEW}"


def experiment_url(base: str, experiment_id: str) -> str:
    """Link to the experiment's training-runs table."""
    return f"{base}/#/experiments/{experiment_id}/runs?{ML_VIEW}"
