"""Where the registered champion came from: model version -> run -> sweep, commit, dataset and scores.

Read from the MLflow registry and tracking store, so the report shows what MLflow holds, not a copy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlflow.exceptions import MlflowException

from betavae.errors import DataError
from betavae.tracking.tags import DATASET_DIGEST_TAG, DATASET_TAG, GIT_COMMIT_SOURCE_TAG, PARENT_RUN_TAG


def champion_lineage(client: Any, registered: Mapping[str, Any]) -> dict[str, Any]:
    """The facts of the version `registered` (as written by the register stage) and of its source run."""
    try:
        version = client.get_model_version_by_alias(registered["name"], registered["alias"])
        run = client.get_run(version.run_id)
    except MlflowException as exc:
        raise DataError(f"cannot read the lineage of {registered.get('uri')}: {exc}") from exc
    tags = run.data.tags
    parent_id = tags.get(PARENT_RUN_TAG)
    parent_name = None
    if parent_id:
        try:
            parent_name = client.get_run(parent_id).info.run_name
        except MlflowException:  # the parent may have been deleted; the lineage still stands
            parent_name = None
    datasets = [
        {"name": d.dataset.name, "digest": d.dataset.digest, "source": d.dataset.source}
        for d in (run.inputs.dataset_inputs if run.inputs else [])
    ]
    return {
        "model": registered["name"],
        "version": int(version.version),
        "alias": registered["alias"],
        "uri": registered.get("uri"),
        "metric": registered.get("metric"),
        "value": registered.get("value"),
        "version_tags": dict(version.tags or {}),
        "run_id": run.info.run_id,
        "run_name": run.info.run_name,
        "experiment_id": run.info.experiment_id,
        "status": run.info.status,
        "git_commit": tags.get(GIT_COMMIT_SOURCE_TAG),
        "dataset": tags.get(DATASET_TAG),
        "dataset_digest": tags.get(DATASET_DIGEST_TAG),
        "dataset_inputs": datasets,
        "sweep_run_id": parent_id,
        "sweep_name": parent_name,
        "params": {k: run.data.params[k] for k in sorted(run.data.params) if k.startswith(("train.", "model."))},
    }
