"""Rows of Higgins et al. 2017 Fig. 5 (left): A.3 baselines, A.4 pooling, budgets, and skipped metrics."""

from __future__ import annotations

import numpy as np
import pytest

from betavae.evaluation import baselines, fig5
from betavae.evaluation.table import TableRow, render_markdown
from betavae.metrics import requirements
from tests.helpers.synthetic import SyntheticGrid, constant, identity

PARAMS = {"protocol": "higgins2017", "batch_size": 8, "num_train": 100, "num_eval": 200}


def test_ica_is_fitted_once_per_pair_of_identities() -> None:
    grid = SyntheticGrid((3, 4, 4, 4))
    models = baselines.ica_pairwise(
        grid, np.random.default_rng(0), identity_factor="f0", num_components=2, num_samples=200
    )
    assert [m.fitted_on for m in models] == [f"200 images with f0 in {p}" for p in ([0, 1], [0, 2], [1, 2])]
    single = baselines.ica_pairwise(
        grid, np.random.default_rng(0), identity_factor="shape", num_components=2, num_samples=200
    )
    assert len(single) == 1 and single[0].fitted_on == "200 images"  # no such factor: one model on everything


def test_pca_reports_its_explained_variance() -> None:
    grid = SyntheticGrid((3, 4, 4, 4))
    full = baselines.pca(grid, np.random.default_rng(0), num_components=4, num_samples=300)
    part = baselines.pca(grid, np.random.default_rng(0), num_components=1, num_samples=300)
    assert full.explained_variance == pytest.approx(1.0)  # four components of four pixels keep everything
    assert 0.2 < part.explained_variance < 0.6


def test_averaged_replicas_report_the_mean_and_spread_of_their_pooled_scores(grid: SyntheticGrid) -> None:
    pooling = dict(metric="beta_vae", score="eval_accuracy", params=PARAMS, classifier_seeds=[0, 1], keep_fraction=0.5)
    good, _ = fig5.pooled_row(grid, "good", [identity], **pooling)
    bad, _ = fig5.pooled_row(grid, "bad", [constant], **pooling)
    both, details = fig5.pooled_row(grid, "ICA", [identity, constant], average_replicas=True, **pooling)
    assert both.mean == pytest.approx((good.mean + bad.mean) / 2)
    assert both.std == pytest.approx(abs(good.mean - bad.mean) / 2)
    assert both.replicas == 2 and both.num_scores == 4 and len(details["per_replica"]) == 2


def test_rows_state_their_budget_and_the_table_its_protocol(grid: SyntheticGrid) -> None:
    budget = fig5.Budget(steps=1200, batch_size=64, dataset_size=737280)
    row, details = fig5.pooled_row(
        grid,
        "VAE",
        [identity, identity],
        metric="beta_vae",
        score="eval_accuracy",
        params=PARAMS,
        classifier_seeds=[0],
        keep_fraction=0.5,
        budget=budget,
    )
    assert (row.steps, row.images_seen, row.replicas) == (1200, 76800, 2)
    assert row.epochs == pytest.approx(76800 / 737280) and details["images_seen"] == 76800
    title = fig5.protocol_title("beta_vae", "eval_accuracy", {**PARAMS, "factors": ["f1", "f2"]}, 0.5, [0, 1, 2])
    assert "protocol higgins2017" in title and "y in {f1, f2}" in title and "3 classifier seeds" in title
    md = render_markdown(
        [row, TableRow("PCA", 0.9, note="10 whitened components explain 60.8% of pixel variance")],
        dataset="dsprites",
        score_name="beta_vae.eval_accuracy",
        protocol=title,
    )
    assert f"Protocol: {title}." in md
    vae_line = next(line for line in md.splitlines() if line.startswith("| VAE |"))
    assert vae_line.endswith("| 2 | 1,200 | 76,800 | 0.104 |  |")
    assert "| PCA | 90.00% | 1 | - | - | - | 10 whitened components explain 60.8% of pixel variance |" in md


def test_datasets_without_two_factors_are_named_with_the_reason(grid: SyntheticGrid) -> None:
    class Digits:
        name = "mnist"
        factor_names = ("label",)

    assert requirements.missing_factors(grid) is None
    assert requirements.missing_factors(Digits()) == (
        "dataset 'mnist' has no ground-truth factors of variation (only ['label']); the disentanglement "
        "metrics need at least 2"
    )
    notes = requirements.estimators({"dci": {"estimator": "gbt"}, "beta_vae": {"protocol": "higgins2017"}})
    assert notes["estimator.dci"].startswith("gbt (scikit-learn GradientBoostingClassifier")
    assert notes["estimator.beta_vae"] == "protocol higgins2017, classifier adagrad"
