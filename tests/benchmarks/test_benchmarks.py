"""The benchmark's arithmetic: FLOPs counted from layer shapes, and the same-run ratios of its summary.

Timings themselves are never asserted here (the machine is shared); `python -m benchmarks` reports them.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmarks import evaluation
from benchmarks.__main__ import main as benchmarks_main
from benchmarks.flops import training_flops_per_image
from benchmarks.report import format_report, summarise
from betavae.models import ModelConfig, build_model
from tests.helpers.synthetic import SyntheticGrid

# mlp64 (Higgins et al. 2017 Appendix A), FLOPs of each forward product per image: 2 x in x out.
MLP64_FIRST = 2 * 4096 * 1200
MLP64_REST = 2 * (1200 * 1200 + 1200 * 20) + 2 * (10 * 1200 + 2 * 1200 * 1200 + 1200 * 4096)


def images_with_ones(n: int, ones: int) -> torch.Tensor:
    x = torch.zeros(n, 1, 64, 64)
    x.view(n, -1)[:, :ones] = 1.0
    return x


def test_mlp64_flops_dense_and_with_the_binary_fast_path():
    torch.manual_seed(0)
    model = build_model(ModelConfig("mlp64", 10), (64, 64, 1)).train()
    x = images_with_ones(4, 512)  # density 1/8
    counted = training_flops_per_image(model, x)
    # The image needs no gradient: the first layer runs forward + weight gradient; the rest also the
    # input gradient.
    assert counted["dense"] == 2 * MLP64_FIRST + 3 * MLP64_REST == 75_288_000
    assert counted["density"] == 0.125
    assert counted["executed"] == 2 * 0.125 * 4096 * 1200 + 3 * MLP64_REST
    model.encoder.first.binary_fast_path = False
    assert training_flops_per_image(model, x)["executed"] == counted["dense"]


def test_conv64_flops_from_the_layer_shapes():
    model = build_model(ModelConfig("conv64", 10), (64, 64, 1)).train()
    conv = 2 * 16 * (1 * 32 * 32 * 32 + 32 * 32 * 16 * 16 + 32 * 64 * 8 * 8 + 64 * 64 * 4 * 4)  # Cin k^2 Cout HoutWout
    fc = 2 * (1024 * 256 + 256 * 20 + 10 * 256 + 256 * 1024)
    deconv = 2 * 16 * (64 * 64 * 4 * 4 + 64 * 32 * 8 * 8 + 32 * 32 * 16 * 16 + 32 * 1 * 32 * 32)  # Cin k^2 Cout HinWin
    first = 2 * 16 * 32 * 32 * 32
    counted = training_flops_per_image(model, images_with_ones(2, 100))
    assert counted["executed"] == counted["dense"] == 2 * first + 3 * (conv - first + fc + deconv)


def test_summary_ratios_and_targets():
    result = {
        "mode": "quick",
        "seconds": 1.0,
        "machine": {"device": "cpu", "cpu": "x", "torch_threads": 2, "torch": "2", "load_average_start": 0.0},
        "matmul_gflops": {"fp32": {"large": 200.0, "batch64": 120.0}, "bf16": {"large": 400.0, "batch64": 300.0}},
        "training": [
            {
                "case": "plain loop",
                "model": "plain mlp64",
                "batch": 64,
                "precision": "fp32",
                "images_per_s": 800.0,
                "images_per_cpu_s": 500.0,
            },
            {"case": "plain loop", "model": "plain mlp64", "batch": 256, "precision": "fp32", "images_per_s": 1700.0},
            {
                "case": "previous engine",
                "model": "conv64",
                "batch": 64,
                "precision": "fp32",
                "images_per_s": 300.0,
                "flops_per_image": 1e8,
            },
            {
                "case": "engine",
                "model": "mlp64",
                "batch": 64,
                "precision": "bf16",
                "images_per_s": 2600.0,
                "images_per_cpu_s": 1400.0,
                "flops_per_image": 5e7,
            },
            {
                "case": "engine",
                "model": "mlp64",
                "batch": 256,
                "precision": "bf16",
                "images_per_s": 6000.0,
                "flops_per_image": 5e7,
            },
            {
                "case": "engine",
                "model": "conv64",
                "batch": 64,
                "precision": "bf16",
                "images_per_s": 450.0,
                "flops_per_image": 1e8,
            },
        ],
    }
    result["encode"] = {
        "mlp64": {"images_per_s": 35000.0, "images_per_cpu_s": 17500.0, "batch": 2048},
        "conv64": {"images_per_s": 8000.4, "images_per_cpu_s": 4000.0, "batch": 512},
    }
    summary = result["summary"] = summarise(result)
    assert summary["mlp64_b64_vs_plain"] == {"value": 3.25, "target": 3.0, "met": True}
    assert summary["mlp64_b64_vs_plain_cpu"] == {"value": 2.8, "target": 3.0, "met": False}  # per CPU-second
    assert summary["mlp64_large_fraction_of_matmul"] == {"value": 0.75, "target": 0.7, "met": True}  # 300 / 400
    assert summary["conv64_b64_vs_previous"] == {"value": 1.5, "target": 2.0, "met": False}
    assert result["training"][4]["x_plain_loop"] == 6000.0 / 1700.0
    assert result["training"][2]["fraction_of_matmul"] == 30.0 / 200.0  # a float32 case against float32
    text = format_report(result)
    assert "conv64_b64_vs_previous: 1.5 (target >= 2.0: NOT met)" in text
    assert "encode images/s: mlp64 35000 (batch 2048), conv64 8000 (batch 512)" in text
    assert "metric_suite_cpu_seconds_per_model" not in summary  # no suite in a quick run


def test_the_metric_suite_time_is_held_against_a_ceiling():
    result = {
        "mode": "full",
        "seconds": 1.0,
        "machine": {"device": "cpu", "cpu": "x", "torch_threads": 2, "torch": "2", "load_average_start": 0.0},
        "metric_suite": {
            "representation": "r",
            "cpu": {
                "seconds_per_model": 9.9,
                "first_model_seconds": 10.6,
                "models_timed": 3,
                "images_encoded": 1,
                "planned_draws": 2,
                "breakdown_s": {},
            },
            "reference": {
                "seconds_per_model": 190.0,
                "first_model_seconds": 190.0,
                "models_timed": 1,
                "images_encoded": 1,
                "planned_draws": 2,
                "breakdown_s": {},
            },
        },
    }
    summary = result["summary"] = summarise(result)
    assert summary == {
        "metric_suite_cpu_seconds_per_model": {"value": 9.9, "target": 10.0, "at_most": True, "met": True}
    }
    text = format_report(result)
    assert "metric_suite_cpu_seconds_per_model: 9.9 (target <= 10.0: met)" in text
    assert "metric suite 'cpu': 9.9 s per model (median of 3; first 10.6 s)" in text
    result["metric_suite"]["cpu"]["seconds_per_model"] = 10.2
    assert summarise(result)["metric_suite_cpu_seconds_per_model"]["met"] is False


class SpriteGrid(SyntheticGrid):
    """A 2x3 factor grid whose images are 64x64 binary squares placed by the factors (what mlp64 and conv64
    take); just enough for the metric suite to draw from."""

    def __init__(self) -> None:
        super().__init__((2, 3))
        self.observation_shape = (64, 64, 1)
        self.max_pixel_value = 1
        self.images = np.zeros((self.num_images, 64, 64, 1), dtype=np.uint8)
        for index, (row, col) in enumerate(self.index_to_classes(np.arange(self.num_images))):
            self.images[index, 8 + 20 * row : 24 + 20 * row, 8 + 16 * col : 24 + 16 * col] = 1


@pytest.mark.parametrize("arch", ["mlp64", "conv64"])
def test_the_metric_suite_is_timed_on_a_random_encoder_of_the_chosen_architecture(arch: str) -> None:
    out = evaluation.suite_times(
        SpriteGrid(), {"tiny": {"mig": {"num_train": 60, "num_bins": 4}}}, torch.device("cpu"), repeats=1, arch=arch
    )
    assert out["arch"] == arch
    assert out["representation"] == f"random-weight {arch} encoder, unit-std latents"
    assert out["tiny"]["images_encoded"] == 6  # every grid row once, through the shared code cache
    assert out["tiny"]["models_timed"] == 1
    assert set(out["tiny"]["breakdown_s"]) == {"encode_whole_grid", "mig"}
    result = {
        "mode": "full",
        "seconds": 1.0,
        "metric_suite": out,
        "machine": {"device": "cpu", "cpu": "x", "torch_threads": 2, "torch": "2", "load_average_start": 0.0},
    }
    assert f"metric suite 'tiny' ({arch}): " in format_report(result)


def test_a_checkpoint_and_a_suite_architecture_are_not_given_together(tmp_path, capsys) -> None:
    code = benchmarks_main(
        [
            "--sections",
            "suite",
            "--checkpoint",
            str(tmp_path / "weights.pt"),
            "--suite-arch",
            "conv64",
            "--out",
            str(tmp_path / "out.json"),
        ]
    )
    assert code == 1
    assert "give --checkpoint or --suite-arch, not both" in capsys.readouterr().err
    assert not (tmp_path / "out.json").exists()


def _curve(values):
    return [
        {"step": 10 * (i + 1), "images": 640 * (i + 1), "train_s": 5.0 * (i + 1), "mig": v}
        for i, v in enumerate(values)
    ]


def test_convergence_threshold_is_the_first_snapshot_where_the_median_over_seeds_reaches_it():
    from benchmarks.convergence import first_reached

    curves = [_curve([0.05, 0.15, 0.30]), _curve([0.02, 0.09, 0.25]), _curve([0.11, 0.12, 0.08])]
    # medians over seeds: 0.05, 0.12, 0.25 (one seed past 0.1 at the first snapshot is not enough)
    assert first_reached(curves, "mig", 0.1) == {"reached": True, "step": 20, "images": 1280, "train_s": 10.0}
    assert first_reached(curves, "mig", 0.2) == {"reached": True, "step": 30, "images": 1920, "train_s": 15.0}
    assert first_reached(curves, "mig", 0.3) == {"reached": False, "best_median": 0.25}


def test_every_convergence_recipe_is_a_valid_run_of_the_default_params():
    from benchmarks.convergence import RECIPES, recipe_config
    from betavae.config import load_params
    from betavae.errors import ConfigError
    from tests.helpers.stage_imports import ROOT

    params = load_params(ROOT / "params.yaml")
    for name, overrides in RECIPES.items():
        run = recipe_config(params, name, seed=2, images=1000, every_images=500)
        batch = overrides.get("train.batch_size", params["train"]["batch_size"])
        assert run.train.seed == 2 and run.train.batch_size == batch
        assert run.train.steps == -(-1000 // batch) and run.train.steps * batch >= 1000
        assert run.objective.objective == overrides.get("train.objective", params["train"]["objective"])
        if name != "default":  # a recipe keeps its meaning when the default params.yaml changes
            assert {"train.objective", "model.architecture"} <= set(overrides), name
            assert run.model.architecture == overrides["model.architecture"]
        if "train.beta_schedule" in overrides:
            assert run.objective.to_dict()["beta_schedule"]["steps"] == overrides["train.beta_schedule"]["steps"]
    with pytest.raises(ConfigError, match="unknown recipe 'nope'"):
        recipe_config(params, "nope", seed=0, images=10, every_images=5)


@pytest.mark.parametrize("n_runs", [2, 10, 1000])
def test_the_scale_sweep_has_n_valid_configurations(n_runs):
    from benchmarks.scale import DATASET, sweep_params
    from betavae.config import expand_sweep
    from betavae.config.whole import check_params

    params = sweep_params(n_runs)
    check_params(params)
    runs = expand_sweep(params, DATASET)
    assert len(runs) == n_runs and len({r.name for r in runs}) == n_runs


def test_the_scale_section_refuses_odd_sizes(capsys):
    assert benchmarks_main(["--sections", "scale", "--runs", "10", "7"]) == 1
    assert capsys.readouterr().err.strip() == "error: --runs must be even numbers >= 2 (N/2 betas x 2 seeds), got [7]"
