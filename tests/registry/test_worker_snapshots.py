"""A configuration trained on another worker: its snapshots come back from the MLflow run's artifacts."""

from __future__ import annotations

from mlflow.tracking import MlflowClient

from betavae.paths import SNAPSHOTS_DIR, snapshot_file
from betavae.tracking.worker_runs import fetch_snapshots


def test_a_worker_runs_snapshots_are_fetched_beside_the_weights_and_none_means_none(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment("workers", artifact_location=(tmp_path / "artifacts").as_uri())
    worker_dir = tmp_path / "worker" / SNAPSHOTS_DIR
    worker_dir.mkdir(parents=True)
    for step, content in ((300, b"first"), (600, b"second")):
        (worker_dir / snapshot_file(step)).write_bytes(content)
    with_snapshots = client.create_run(experiment).info.run_id
    client.log_artifacts(with_snapshots, str(worker_dir), SNAPSHOTS_DIR)
    without = client.create_run(experiment).info.run_id

    folder = tmp_path / "orchestrator" / "weights" / "run-abc"
    fetched = fetch_snapshots(with_snapshots, folder, uri)
    assert fetched == folder / SNAPSHOTS_DIR
    assert {p.name: p.read_bytes() for p in fetched.iterdir()} == {
        snapshot_file(300): b"first",
        snapshot_file(600): b"second",
    }
    assert [p.name for p in folder.iterdir()] == [SNAPSHOTS_DIR], "no temporary folder is left behind"
    assert fetch_snapshots(without, tmp_path / "other", uri) is None
