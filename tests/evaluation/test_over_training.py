"""Scores over training: snapshots scored like final weights, curves written for render and `dvc plots`."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from betavae.config import EvaluateConfig, expand_sweep
from betavae.errors import ConfigError
from betavae.evaluation.over_training import run_curve, write_curves
from betavae.evaluation.scoring import evaluate_checkpoint
from betavae.io import read_json
from betavae.paths import WEIGHTS_FILE, ProjectPaths, snapshot_files
from betavae.render.figure import SIZES
from betavae.render.over_training import by_configuration, save_over_training_png
from betavae.tracking.runs_table import configuration_of
from betavae.training.checkpoint import seal_checkpoint
from betavae.training.engine import train
from tests.helpers.block_grid import BlockGrid

PAD = ((0, 0), (0, 20), (0, 20), (0, 0))


class PaddedBlocks(BlockGrid):
    """The block grid's factors, each image padded to the 28 x 28 the mlp28 takes."""

    has_factors = True

    def __init__(self) -> None:
        super().__init__()
        self._images = np.pad(self._images, PAD)

    def sample_observations_from_factors(self, factors, rng):
        return np.pad(super().sample_observations_from_factors(factors, rng), PAD)


def _evaluate(snapshot_metrics):
    return EvaluateConfig.from_dict(
        {
            "profile": "tiny",
            "profiles": {"tiny": {"mig": {"num_train": 64, "num_bins": 4}, "sap": {"num_train": 32, "num_test": 32}}},
            "reconstruction_samples": 16,
            "snapshot_metrics": snapshot_metrics,
            "table": {"metric": "mig", "score": "score"},
        }
    )


@pytest.fixture(scope="module")
def sealed_run(tmp_path_factory):
    params = {
        "model": {"architecture": "mlp28", "latent_dim": 2},
        "train": {
            "objective": "beta_vae",
            "beta": 4.0,
            "steps": 6,
            "batch_size": 8,
            "device": "cpu",
            "checkpoint_every": 3,
            "log_every": 3,
            "snapshots": [2, 4],
        },
        "sweep": {"grid": {}, "seeds": [0]},
    }
    data = PaddedBlocks()
    data.digest = "blocks"
    run = expand_sweep(params, "blocks")[0]
    root = tmp_path_factory.mktemp("run")
    result = train(run, data, root / "ckpt", progress=False)
    weights = seal_checkpoint(result.checkpoint, root / "weights" / WEIGHTS_FILE)
    return run, weights, data


def test_a_snapshot_scores_what_its_weights_score_and_the_curve_ends_at_the_final_scores(sealed_run):
    run, weights, data = sealed_run
    cfg = _evaluate(["mig", "reconstruction"])
    final = evaluate_checkpoint(weights, data, cfg).scores
    curve = run_curve(run.name, run, weights, final, data, cfg)
    assert curve is not None
    assert [p["step"] for p in curve.points] == [2, 4, 6]
    assert [p["images"] for p in curve.points] == [16, 32, 48]
    at_4 = evaluate_checkpoint(snapshot_files(weights)[1], data, cfg).scores
    assert curve.points[1]["mig.score"] == at_4["mig.score"]
    assert curve.points[1]["reconstruction.log_likelihood"] == at_4["reconstruction.log_likelihood"]
    assert curve.points[-1]["mig.score"] == final["mig.score"]
    assert not any(k.startswith(("sap.", "reconstruction.kl.")) or k.endswith(".seconds") for k in curve.points[0])
    assert run_curve(run.name, run, weights, final, data, _evaluate([])) is None, "nothing chosen, nothing scored"


def test_curves_are_written_whole_so_a_run_gone_from_the_sweep_leaves_no_file(sealed_run, tmp_path):
    run, weights, data = sealed_run
    cfg = _evaluate(["mig"])
    curve = run_curve(run.name, run, weights, evaluate_checkpoint(weights, data, cfg).scores, data, cfg)
    paths = ProjectPaths(tmp_path)
    stale = paths.over_training_runs("blocks") / "gone-seed=0.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("[]")
    write_curves(paths, "blocks", [curve])
    assert sorted(p.name for p in paths.over_training_runs("blocks").iterdir()) == [f"{run.name}.json"]
    rows = read_json(paths.over_training_runs("blocks") / f"{run.name}.json")
    assert [r["step"] for r in rows] == [2, 4, 6] and all("mig.score" in r for r in rows)
    assert read_json(paths.over_training("blocks"))["runs"][0]["run"] == run.name


@pytest.mark.parametrize(
    ("value", "message"),
    [(["dci"], "'dci' is not a metric of profile 'tiny'"), (["mig", "mig"], "twice"), ("mig", "must be a list")],
)
def test_snapshot_metrics_must_be_metrics_of_the_profile(value, message):
    with pytest.raises(ConfigError, match=message):
        _evaluate(value)


def test_the_plot_pools_seeds_per_configuration_and_has_its_fixed_size(tmp_path):
    def run(name, values):
        return {"run": name, "points": [{"step": s, "images": 64 * s, "mig.score": v} for s, v in zip((1, 2), values)]}

    curves = {
        "runs": [
            run("beta_vae-beta=4-seed=0", [0.1, 0.3]),
            run("beta_vae-beta=4-seed=1", [0.2, 0.5]),
            run("beta_vae-beta=1-seed=0", [0.0, 0.1]),
        ]
    }
    assert configuration_of("beta_vae-beta=4-seed=1") == "beta_vae-beta=4"
    pooled = by_configuration(curves["runs"], "mig.score")
    images, values = pooled["beta_vae-beta=4"]
    np.testing.assert_array_equal(images, [64, 128])
    np.testing.assert_allclose(values.mean(axis=0), [0.15, 0.4])
    assert pooled["beta_vae-beta=1"][1].shape == (1, 2)
    path = save_over_training_png(curves, tmp_path / "o.png")
    with Image.open(path) as image:
        assert image.size == SIZES["over_training"]
