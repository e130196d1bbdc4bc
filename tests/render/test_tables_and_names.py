"""The comparison rows, the DVC plot data, the report page and the MLflow run facts, from known inputs."""

from __future__ import annotations

import csv
import dataclasses
import json
from datetime import UTC, datetime

import numpy as np
import pytest
from PIL import Image

from betavae.config import expand_sweep
from betavae.render.curves import write_loss_csv, write_runs_csv
from betavae.report.page import ReportInputs, build_page
from betavae.tracking.runs_table import comparison_rows, configuration_summary, summary_markdown, sweep_points
from betavae.tracking.sweep_record import RunRecord
from betavae.tracking.ui import dataset_input, sweep_run_name
from tests.helpers.runs import tiny_params


def _records():
    runs = expand_sweep(tiny_params(), "tiny")
    return [RunRecord(r.name, r.to_dict(), f"id{i}", "finished") for i, r in enumerate(runs)]


def test_comparison_rows_hold_parameters_and_only_the_scores_present():
    records = _records() + [dataclasses.replace(_records()[0], name="broken", status="diverged")]
    scores = {
        "beta_vae-beta=1-seed=0": {"mig.score": 0.25, "reconstruction.log_likelihood": -10.0},
        "beta_vae-beta=4-seed=0": {"mig.score": 0.5, "reconstruction.log_likelihood": float("nan")},
    }
    rows = comparison_rows(records, scores)
    assert [r["run"] for r in rows] == ["beta_vae-beta=1-seed=0", "beta_vae-beta=4-seed=0", "broken"]
    assert [r["train.beta"] for r in rows] == [1.0, 4.0, 1.0]
    assert "beta_vae.eval_accuracy" not in rows[0]  # no run has it
    assert rows[1]["mig.score"] == 0.5 and rows[1]["reconstruction.log_likelihood"] is None  # NaN is missing
    points = sweep_points(rows)
    assert [(p.beta, p.scores["mig.score"]) for p in points] == [(1.0, 0.25), (4.0, 0.5)]  # finished runs only


def test_the_vae_and_the_autoencoder_plot_at_their_fixed_kl_weights():
    # Stuhmer et al. Fig. 5a compares the VAE at beta = 1: the `vae` objective takes no beta, its KL weight is 1.
    params = {
        **tiny_params(),
        "sweep": {"grid": [{"train.objective": ["vae"]}, {"train.objective": ["ae"]}], "seeds": [0]},
    }
    del params["train"]["beta"]
    records = [RunRecord(r.name, r.to_dict(), f"id{i}", "finished") for i, r in enumerate(expand_sweep(params, "tiny"))]
    rows = comparison_rows(records, {})
    assert [(r["run"], r["train.beta"]) for r in rows] == [("vae-seed=0", 1.0), ("ae-seed=0", 0.0)]
    assert [p.beta for p in sweep_points(rows)] == [1.0, 0.0]


def test_dvc_plot_data_has_dot_free_columns_and_one_row_per_step(tmp_path):
    history = {"total": (np.array([10, 20]), np.array([5.0, 4.0])), "kl": (np.array([20]), np.array([1.5]))}
    with open(write_loss_csv(history, tmp_path / "loss.csv")) as f:
        assert list(csv.DictReader(f)) == [
            {"step": "10", "kl": "", "total": "5.0"},
            {"step": "20", "kl": "1.5", "total": "4.0"},
        ]
    rows = comparison_rows(_records(), {"beta_vae-beta=1-seed=0": {"mig.score": 0.25}})
    with open(write_runs_csv(rows, tmp_path / "runs.csv")) as f:
        read = list(csv.DictReader(f))
    assert [r["train_beta"] for r in read] == ["1.0", "4.0"] and read[0]["mig_score"] == "0.25"


def test_report_page_embeds_pictures_escapes_text_and_sorts_offline(tmp_path):
    picture = tmp_path / "t.png"
    Image.new("L", (4, 3), 128).save(picture)
    rows = comparison_rows(_records(), {})
    rows[0]["run"] = "<b>x</b>"
    page = build_page(
        ReportInputs(
            dataset="tiny",
            comparison=rows,
            run_pictures={"<b>x</b>": {"traversal": picture}},
            sweep_pictures={},
            table={"score": "s", "rows": [{"model": "VAE", "mean": 0.5, "std": 0.125, "num_scores": 2}]},
        )
    )
    assert page.count('src="data:image/png;base64,') == 1 and "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert "50.00 &plusmn; 12.50" in page and 'class="sortable"' in page and "addEventListener('click'" in page
    assert "http://" not in page and "https://" not in page  # nothing to fetch


def test_run_facts_for_the_mlflow_ui():
    when = datetime(2026, 11, 24, 9, 30, 12, tzinfo=UTC)
    assert (
        sweep_run_name("beta-sweep", {"train.beta": [1.0, 4.0], "model.latent_dim": [10]}, [0, 1], when)
        == "beta-sweep train.beta=1,4 model.latent_dim=10 seeds=0,1 2026-11-24T09:30:12Z"
    )
    entry = dataset_input("dsprites", "ab" * 32, "file:///p/data/datasets/dsprites", {"num_images": 3})
    assert entry.dataset.digest == "ab" * 8 and entry.dataset.name == "dsprites"
    assert json.loads(entry.dataset.source) == {"uri": "file:///p/data/datasets/dsprites"}
    assert [(t.key, t.value) for t in entry.tags] == [("mlflow.data.context", "training")]


def test_prefect_summary_links_every_run_into_the_training_view():
    from betavae.tracking.ui import experiment_url, run_url

    rows = comparison_rows(_records(), {"beta_vae-beta=1-seed=0": {"mig.score": 0.25}})
    links = {r["run"]: run_url("http://h:5000", "7", r["run_id"]) for r in rows}
    text = summary_markdown("tiny", rows, experiment_url("http://h:5000", "7"), links)
    assert "[All runs in MLflow](http://h:5000/#/experiments/7/runs?workflowType=machine_learning)" in text
    assert "| [beta_vae-beta=1-seed=0](http://h:5000/#/experiments/7/runs/id0?workflowType=machine_learning) |" in text
    assert "| run | status | train.objective | train.beta |" in text.splitlines()[4] and "0.25" in text


def test_configurations_pool_their_seeds_with_mean_spread_and_range():
    def row(name, mig, status="finished"):
        return {"run": name, "status": status, "mig.score": mig, "beta_vae.eval_accuracy": 0.5}

    rows = [
        row("beta_vae-beta=4-seed=0", 0.1),
        row("beta_vae-beta=4-seed=1", 0.3),
        row("beta_vae-beta=1-seed=0", 0.05),
        row("beta_vae-beta=1-seed=1", None, status="diverged"),
    ]
    summary = configuration_summary(rows)
    assert [(e["configuration"], e["seeds"]) for e in summary] == [("beta_vae-beta=4", 2), ("beta_vae-beta=1", 1)]
    assert summary[0]["mig.score"] == pytest.approx({"mean": 0.2, "std": 0.1, "min": 0.1, "max": 0.3})
    page = build_page(ReportInputs(dataset="tiny", comparison=rows, run_pictures={}, sweep_pictures={}))
    assert "0.200 &plusmn; 0.100 [0.100, 0.300]" in page and 'id="configurations-table"' in page


def test_the_representative_run_is_the_upper_half_by_mig_nearest_its_mean():
    from betavae.tracking.runs_table import RECONSTRUCTION, representative_run

    def row(seed, mig, recon):
        return {"run": f"isa_vae-beta=1-seed={seed}", "status": "finished", "mig.score": mig, RECONSTRUCTION: recon}

    # upper half by MIG: 0.5, 0.6, 0.7 (recon -40, -22, -30); mean (0.6, -30.67), variance (0.00667, 54.22):
    # squared distances 1.5 + 1.61, 0 + 1.39, 1.5 + 0.008, so seed 4 (MIG 0.6) represents the configuration
    rows = [row(0, 0.05, -5.0), row(1, 0.1, -5.0), row(2, 0.2, -5.0), row(3, 0.5, -40.0), row(4, 0.6, -22.0)]
    rows.append(row(5, 0.7, -30.0))
    assert representative_run(rows) == "isa_vae-beta=1-seed=4"
    assert representative_run(rows[:1]) == "isa_vae-beta=1-seed=0"  # one seed represents itself
    assert representative_run([*rows[:2], {**rows[2], "mig.score": None}]) is None  # a run without MIG
    summary = configuration_summary(rows)
    assert summary[0]["representative"] == "isa_vae-beta=1-seed=4"
    page = build_page(ReportInputs(dataset="tiny", comparison=rows, run_pictures={}, sweep_pictures={}))
    assert '<td class="text">isa_vae-beta=1-seed=4</td></tr>' in page
