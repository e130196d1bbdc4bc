"""Prefect artifacts of the sweep flows: each train, evaluate and render flow run publishes the sweep's
comparison (one row per run: status, parameters, the scores known so far) as a table artifact and a
Markdown summary linking every run's page in the MLflow UI. Keys: `<stage>-<dataset>`, `<stage>-<dataset>-runs`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from betavae.tracking.sweep_record import SweepRecord

WHAT = {"train": "trained", "evaluate": "scored", "render": "rendered"}


def artifact_key(stage: str, dataset: str) -> str:
    """Prefect keys allow lowercase letters, digits and dashes."""
    return f"{stage}-{dataset}".lower().replace("_", "-")


def publish_sweep_artifacts(
    stage: str, dataset: str, sweep: SweepRecord, rows: list[dict[str, Any]], root: Path
) -> None:
    """The flow run's artifacts: `rows` as a table, and a Markdown summary with MLflow links."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    from betavae.tracking.client import tracking_uri
    from betavae.tracking.runs_table import summary_markdown
    from betavae.tracking.ui import experiment_url, run_url, ui_base

    base = ui_base(tracking_uri(root))
    key = artifact_key(stage, dataset)
    create_table_artifact(
        key=f"{key}-runs", table=list(rows), description=f"Every run of the latest {dataset} sweep, {WHAT[stage]}"
    )
    links = {r["run"]: run_url(base, sweep.experiment_id, r["run_id"]) for r in rows if r["run_id"]}
    markdown = summary_markdown(
        dataset, rows, experiment_url(base, sweep.experiment_id), links, title=f"{WHAT[stage]} sweep"
    )
    create_markdown_artifact(
        key=key, markdown=markdown, description=f"The {dataset} sweep, {WHAT[stage]}, with MLflow links"
    )
