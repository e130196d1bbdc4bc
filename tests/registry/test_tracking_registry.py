"""MLflow on the embedded sqlite store: nested runs, logged model, registry alias, and `betavae pull`."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from betavae.config import expand_sweep
from betavae.evaluation.inference import decode_images, encode_means
from betavae.serving.package import load
from betavae.tracking.client import client_for, ensure_experiment, start_run
from betavae.tracking.promotion import promote_best
from betavae.tracking.registry import choose_best
from betavae.tracking.runs import train_and_track
from betavae.tracking.sweep_record import RunRecord
from betavae.training.checkpoint import model_from_checkpoint
from tests.helpers.runs import InMemoryImages, random_binary_images, tiny_params


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_sweep_runs_are_nested_logged_registered_and_pulled(project):
    data = InMemoryImages(random_binary_images(64, 28), digest="d" * 64)
    runs = expand_sweep(tiny_params(steps=10, log_every=5, checkpoint_every=10), "tiny")
    client = client_for(project)
    assert client.tracking_uri == f"sqlite:///{project / 'mlflow.db'}"
    experiment_id = ensure_experiment(client, "betavae-tiny", project)
    parent = start_run(client, experiment_id, "sweep")
    search_path = list(sys.path)
    records = [
        train_and_track(
            r, data, root=project, client=client, experiment_id=experiment_id, parent_id=parent.run_id, progress=False
        )
        for r in runs
    ]
    parent.finish()
    # logging a package leaves no folder on sys.path (MLflow adds its temporary copy of the code)
    assert sys.path == search_path

    assert [r.status for r in records] == ["finished", "finished"]
    for record, run in zip(records, runs, strict=True):
        logged = client.get_run(record.run_id)
        assert logged.data.tags["mlflow.parentRunId"] == parent.run_id
        assert logged.data.params["train.beta"] == str(run.objective.beta)
        assert logged.data.tags["betavae.dataset_digest"] == "d" * 64
        assert logged.info.status == "FINISHED"
        history = client.get_metric_history(record.run_id, "total")
        assert [m.step for m in history] == [5, 10]
        assert len(client.get_metric_history(record.run_id, "kl_per_latent.3")) == 2
        # MLflow holds no training checkpoint (optimiser state); the logged model carries the weights
        assert "checkpoint" not in {a.path for a in client.list_artifacts(record.run_id)}
        assert logged.data.tags["betavae.model_uri"] == record.model_uri
    assert (project / "mlruns").is_dir()

    scores = {"beta_vae-beta=1-seed=0": {"m": 0.5}, "beta_vae-beta=4-seed=0": {"m": 0.7}}
    best, value = choose_best(records, scores, "m", "max")
    assert best.name == "beta_vae-beta=4-seed=0" and value == 0.7
    entry = promote_best(client, records, scores, "tiny", metric="m", mode="max")
    assert entry.version == 1 and entry.alias == "champion"
    assert client.get_model_version_by_alias("betavae-tiny", "champion").run_id == records[1].run_id

    encoder = load("tiny", root=project)
    codes = np.asarray(encoder.predict(data.images[:5]))
    model, _ = model_from_checkpoint(records[1].checkpoint)
    expected = encode_means(model, data.images[:5], 1)
    assert codes.shape == (5, 4)
    np.testing.assert_allclose(codes, expected, rtol=1e-5, atol=1e-6)

    # the same package decodes latents (n, d) to uint8 images and reconstructs images
    latents = np.array([[0.0, 0.0, 0.0, 0.0], [2.0, -1.0, 0.5, 0.0]], dtype=np.float32)
    images = np.asarray(encoder.predict(latents, params={"method": "decode"}))
    assert images.shape == (2, 28, 28, 1) and images.dtype == np.uint8
    np.testing.assert_array_equal(images, decode_images(model, latents, 1))
    recon = np.asarray(encoder.predict(data.images[:5], params={"method": "reconstruct"}))
    np.testing.assert_array_equal(recon, decode_images(model, expected, 1))
    signature = encoder.metadata.signature
    assert signature.params.to_dict()[0] == {"name": "method", "type": "string", "default": "encode", "shape": None}
    with pytest.raises(Exception, match="params.method must be one of encode, decode, reconstruct"):
        encoder.predict(latents, params={"method": "sample"})


def test_choose_best_skips_diverged_runs_and_names_missing_metrics():
    runs = [RunRecord("a", {}, "id-a", "diverged"), RunRecord("b", {}, "id-b", "finished")]
    best, _ = choose_best(runs, {"a": {"m": 9.0}, "b": {"m": 1.0}}, "m", "max")
    assert best.name == "b"
    best, _ = choose_best(
        runs + [RunRecord("c", {}, "id-c", "finished")], {"b": {"m": 1.0}, "c": {"m": 0.5}}, "m", "min"
    )
    assert best.name == "c"
    from betavae.errors import ConfigError

    with pytest.raises(ConfigError, match="register.metric 'mig.score'"):
        choose_best(runs, {"b": {"m": 1.0}}, "mig.score", "max")


def test_diverged_run_is_recorded_as_failed_with_its_reason(project):
    data = InMemoryImages(random_binary_images(64, 28))
    run = expand_sweep(tiny_params(steps=200, lr=1e30), "tiny")[0]
    client = client_for(project)
    experiment_id = ensure_experiment(client, "betavae-tiny", project)
    parent = start_run(client, experiment_id, "sweep")
    record = train_and_track(
        run, data, root=project, client=client, experiment_id=experiment_id, parent_id=parent.run_id, progress=False
    )
    assert record.status == "diverged"
    logged = client.get_run(record.run_id)
    assert logged.info.status == "FAILED"
    assert "non-finite loss" in logged.data.tags["betavae.failure_reason"]
