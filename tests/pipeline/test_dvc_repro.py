"""End to end: `dvc repro` in a copy of the project on a small dataset, with the embedded defaults.

MLflow writes to the copy's `mlflow.db`, Prefect starts its temporary local server (no PREFECT_API_URL),
and DVC keeps its cache inside the copy. The test then checks that a second `dvc repro` does nothing,
that a changed `train.beta` invalidates train and what follows but not the data stages, and that the
registered champion can be pulled with the `betavae` command.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from tests.helpers.project_copy import BIN, run_ok

pytestmark = pytest.mark.slow


@pytest.fixture
def project(repro_project):
    """The project copy after `dvc repro` on SMALL_PARAMS (`tests/pipeline/conftest.py`, built once)."""
    return repro_project


def test_repro_produces_every_stage_output(project):
    dest, _ = project
    assert (dest / "data/datasets/blobs/manifest.json").is_file()
    assert (dest / "data/validation/blobs").is_dir()
    sweep = json.loads((dest / "models/blobs/sweep.json").read_text())
    assert [r["name"] for r in sweep["runs"]] == ["beta_vae-beta=1-seed=0", "beta_vae-beta=4-seed=0"]
    assert all(r["status"] == "finished" and r["checkpoint"].endswith("weights.pt") for r in sweep["runs"])
    scores = json.loads((dest / "metrics/blobs/scores.json").read_text())
    assert set(scores) == {"beta_vae-beta=1-seed=0", "beta_vae-beta=4-seed=0"}
    for values in scores.values():
        assert 0.0 <= values["beta_vae.eval_accuracy"] <= 1.0
        assert 0.0 <= values["mig.score"] <= 1.0
    table = json.loads((dest / "metrics/blobs/table.json").read_text())
    rows = {row["model"]: row for row in table["rows"]}
    assert list(rows) == ["Ground truth", "Raw pixels", "PCA", "ICA", "Untrained VAE", "VAE", "\u03b2-VAE (\u03b2=4)"]
    assert rows["Ground truth"]["mean"] == 1.0 and rows["VAE"]["num_scores"] == 2
    assert "| Ground truth | 100.00" in (dest / "metrics/blobs/table.md").read_text()
    pngs = sorted(p.name for p in (dest / "plots/blobs/traversals").glob("*.png"))
    assert pngs == ["beta_vae-beta=1-seed=0.png", "beta_vae-beta=4-seed=0.png"]
    registered = json.loads((dest / "models/blobs/registered.json").read_text())
    assert registered["name"] == "betavae-blobs" and registered["alias"] == "champion"
    best = max(scores, key=lambda name: scores[name]["beta_vae.eval_accuracy"])
    assert registered["run_name"] == best


def test_snapshots_are_scored_over_training_and_drawn(project):
    """`train.snapshots: [15]` of a 30-step run: one snapshot beside each run's weights, scored with
    `evaluate.snapshot_metrics`; each curve ends at the run's final score, and render draws the curves."""
    dest, env = project
    scores = json.loads((dest / "metrics/blobs/scores.json").read_text())
    curves = json.loads((dest / "metrics/blobs/over_training.json").read_text())
    assert [c["run"] for c in curves["runs"]] == ["beta_vae-beta=1-seed=0", "beta_vae-beta=4-seed=0"]
    for curve in curves["runs"]:
        assert [(p["step"], p["images"]) for p in curve["points"]] == [(15, 480), (30, 960)]
        assert curve["points"][-1]["mig.score"] == scores[curve["run"]]["mig.score"]
        rows = json.loads((dest / "metrics/blobs/over_training" / f"{curve['run']}.json").read_text())
        assert rows == curve["points"]
    weights = dest / "models/blobs/weights"
    snapshots = sorted(p.relative_to(weights).as_posix() for p in weights.rglob("step-*.pt"))
    assert [s.split("/", 1)[1] for s in snapshots] == ["snapshots/step-000000015.pt"] * 2
    assert not list((dest / "models/blobs/checkpoints").rglob("step-*.pt")), "sealing moves them"
    index = json.loads((dest / "plots/blobs/index.json").read_text())
    assert (dest / "plots/blobs" / index["sweep"]["over_training"]).is_file()
    plots = run_ok([str(BIN / "dvc"), "plots", "show", "--json"], dest, env).stdout
    assert "over_training" in plots


def test_a_second_dataset_adds_its_own_stages_and_gets_its_own_champion(project_copy):
    dest, env = project_copy
    params = yaml.safe_load((dest / "params.yaml").read_text())
    params["data"]["train_on"].append("dots")
    params["data"]["datasets"]["dots"] = {"kind": "blobs", "source": "procedural", "grid": 8}
    params["register"]["datasets"] = {"dots": {"metric": "reconstruction.elbo", "mode": "max"}}
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    dvc = str(BIN / "dvc")
    names = run_ok([dvc, "stage", "list", "--name-only"], dest, env).stdout.split()
    status = json.loads(run_ok([dvc, "status", "--json"], dest, env).stdout)
    stages = ("acquire", "validate", "train", "evaluate", "render", "register", "report")
    assert {f"{stage}@dots" for stage in stages} <= set(names)
    assert {f"{stage}@dots" for stage in stages} <= set(status)  # new: never run
    # blobs' data, training, scores and pictures stay valid; only what reads `register` changed
    assert not {"acquire@blobs", "validate@blobs", "train@blobs", "evaluate@blobs", "render@blobs"} & set(status)

    proc = run_ok([dvc, "repro"], dest, env, timeout=900)
    ran = {line.split("'")[1] for line in proc.stdout.splitlines() if line.startswith("Running stage")}
    assert ran == {f"{stage}@dots" for stage in stages} | {"register@blobs", "report@blobs"}
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{dest / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    for dataset, metric in (("blobs", "beta_vae.eval_accuracy"), ("dots", "reconstruction.elbo")):
        registered = json.loads((dest / f"models/{dataset}/registered.json").read_text())
        champion = client.get_model_version_by_alias(f"betavae-{dataset}", "champion")
        assert str(champion.version) == "1" and champion.run_id == registered["run_id"]
        assert champion.tags["betavae.metric"] == metric and champion.tags["betavae.dataset"] == dataset
    assert len(client.search_model_versions("name = 'betavae-blobs'")) == 1  # registering blobs again: no version
    assert json.loads(run_ok([dvc, "status", "--json"], dest, env).stdout) == {}


def test_mlflow_holds_parent_and_nested_runs_with_the_champion(project):
    dest, _ = project
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{dest / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.get_experiment_by_name("betavae-blobs")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if r.data.tags.get("betavae.sweep") == "true"]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and len(children) == 2
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parents[0].info.run_id}
    for child in children:
        assert "beta_vae.eval_accuracy" in child.data.metrics and "mig.score" in child.data.metrics
        history = client.get_metric_history(child.info.run_id, "mig.score")
        assert sorted(m.step for m in history) == [15, 30], "the snapshot's score, then the final one"
        names = {a.path for a in client.list_artifacts(child.info.run_id)}
        assert "traversals" in names and "checkpoint" not in names  # no optimiser state in MLflow
        assert child.data.tags["betavae.model_uri"].startswith("models:/")
    version = client.get_model_version_by_alias("betavae-blobs", "champion")
    assert version.run_id in {c.info.run_id for c in children}


def test_second_repro_is_up_to_date(project):
    dest, env = project
    proc = run_ok([str(BIN / "dvc"), "repro"], dest, env)
    assert "didn't change, skipping" in proc.stdout or "up to date" in proc.stdout.lower()
    assert "Running stage" not in proc.stdout


def test_metrics_show_lists_scores_per_beta(project):
    dest, env = project
    proc = run_ok([str(BIN / "dvc"), "metrics", "show", "--json"], dest, env)
    text = proc.stdout
    assert "beta_vae-beta=1-seed=0" in text and "beta_vae-beta=4-seed=0" in text
    assert "mig.score" in text


def test_changing_beta_invalidates_train_and_later_stages_only(project):
    dest, env = project
    params = yaml.safe_load((dest / "params.yaml").read_text())
    params["sweep"]["grid"]["train.beta"] = [1.0, 8.0]
    original = (dest / "params.yaml").read_text()
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        status = json.loads(run_ok([str(BIN / "dvc"), "status", "--json"], dest, env).stdout)
        proc = run_ok([str(BIN / "dvc"), "repro", "--dry", "--force-downstream"], dest, env)
    finally:
        (dest / "params.yaml").write_text(original)
    assert status == {"train@blobs": [{"changed deps": {"params.yaml": {"sweep": "modified"}}}]}
    ran = {line.split("'")[1] for line in proc.stdout.splitlines() if line.startswith("Running stage")}
    assert ran == {f"{stage}@blobs" for stage in ("train", "evaluate", "render", "register", "report")}


def test_encode_pull_and_decode_with_the_champion(project):
    dest, env = project
    images = np.zeros((3, 64, 64, 1), dtype=np.uint8)
    np.save(dest / "imgs.npy", images)
    betavae = str(BIN / "betavae")
    proc = run_ok(
        [betavae, "--root", str(dest), "encode", "blobs", "--images", "imgs.npy", "--out", "codes.npy"], dest, env
    )
    assert "codes.npy" in proc.stdout
    codes = np.load(dest / "codes.npy")
    assert codes.shape == (3, 4) and np.isfinite(codes).all()
    proc = run_ok([betavae, "--root", str(dest), "encode", "blobs", "--sample", "2"], dest, env)
    assert len([line for line in proc.stdout.splitlines() if not line.startswith("#")]) == 2

    run_ok([betavae, "--root", str(dest), "pull", "blobs", "--out", "pulled"], dest, env)
    assert (dest / "pulled" / "MLmodel").is_file()
    offline = {**env, "MLFLOW_TRACKING_URI": "http://127.0.0.1:9"}  # nothing listens: the folder is enough
    run_ok([betavae, "encode", "pulled", "--images", "imgs.npy", "--out", "codes2.npy"], dest, offline)
    np.testing.assert_allclose(np.load(dest / "codes2.npy"), codes, rtol=1e-6)
    run_ok([betavae, "decode", "pulled", "--latents", "codes.npy", "--out", "decoded.npy"], dest, offline)
    decoded = np.load(dest / "decoded.npy")
    from betavae.data.storage import load_dataset

    assert decoded.shape == (3, 64, 64, 1) and decoded.dtype == np.uint8
    assert decoded.max() <= load_dataset(dest / "data/datasets/blobs").max_pixel_value
