"""Queued and temporary DVC experiments keep their tracking: the runs (and the registry entries) they log
land in the repository's `mlflow.db` and `mlruns/`, not in the copy under `.dvc/tmp/exps/` that DVC
deletes."""

from __future__ import annotations

from pathlib import Path

import pytest

from betavae.paths import ProjectPaths, workspace_of
from tests.helpers.project_copy import BIN, run_ok


@pytest.mark.parametrize(
    ("root", "expected"),
    [
        ("/repo", "/repo"),
        ("/repo/.dvc/tmp/exps/tmpab12cd", "/repo"),
        ("/repo/.dvc/tmp/exps/run/abc/tmpxyz", "/repo"),
        ("/home/u/.dvc/other/exps/x", "/home/u/.dvc/other/exps/x"),
    ],
)
def test_an_experiment_copy_tracks_to_its_repository(root, expected):
    assert workspace_of(Path(root)) == Path(expected)
    paths = ProjectPaths(Path(root))
    assert paths.mlflow_db == Path(expected) / "mlflow.db" and paths.mlruns == Path(expected) / "mlruns"
    assert paths.params_file == Path(root) / "params.yaml"  # everything else stays in the copy


@pytest.mark.slow
def test_a_queued_experiment_logs_to_the_repository_store(project_copy):
    from mlflow.tracking import MlflowClient

    dest, env = project_copy
    uri = f"sqlite:///{dest / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.get_experiment_by_name("betavae-blobs").experiment_id
    before = {r.info.run_id for r in client.search_runs([experiment])}

    # the train stage alone: it logs the runs; register writes to the same store by the same path
    queue = ["exp", "run", "--queue", "train@blobs", "-S", "train.steps=40", "--name", "queued"]
    run_ok([str(BIN / "dvc"), *queue], dest, env)
    ran = run_ok([str(BIN / "dvc"), "exp", "run", "--run-all"], dest, env, timeout=900)
    status = run_ok([str(BIN / "dvc"), "queue", "status"], dest, env).stdout
    assert "Success" in status, ran.stdout[-4000:] + status

    assert not (dest / ".dvc" / "tmp" / "exps").exists() or not list((dest / ".dvc/tmp/exps").glob("tmp*/mlflow.db"))
    runs = [r for r in client.search_runs([experiment]) if r.info.run_id not in before]
    trained = [r for r in runs if r.data.params.get("train.steps") == "40"]
    assert len(trained) == 2 and all(r.info.status == "FINISHED" for r in trained), [r.info for r in runs]
    for run in trained:  # the artifacts went to the repository's mlruns/, which outlives the copy
        assert run.info.artifact_uri.removeprefix("file://").startswith(str(dest / "mlruns")), run.info.artifact_uri
    assert "queued" in run_ok([str(BIN / "dvc"), "exp", "list", "--name-only"], dest, env).stdout.split()
