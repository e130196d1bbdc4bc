"""The figures quoted in README.md, docs/results/ and benchmarks/NOTES.md match their result files."""

from __future__ import annotations

import json
from pathlib import Path

from betavae.report.results_docs import check, main, regenerate

ROOT = Path(__file__).resolve().parents[1]


def test_every_generated_block_of_the_repository_matches_its_committed_result_file():
    assert check(ROOT) == []


def _sweep_folder(folder: Path) -> Path:
    folder.mkdir(parents=True)
    scores = {
        "beta_vae-beta=1-seed=0": {"mig.score": 0.02},
        "beta_vae-beta=1-seed=1": {"mig.score": 0.04},
        "beta_vae-beta=8-seed=0": {"mig.score": 0.2},
    }
    (folder / "scores.json").write_text(json.dumps(scores))
    table = {"score": "BetaVAE", "rows": [{"model": "VAE", "mean": 0.6, "std": 0.01, "num_scores": 2, "steps": 10}]}
    (folder / "table.json").write_text(json.dumps(table))
    return folder


def test_a_block_that_no_longer_matches_its_file_is_reported_and_rewritten(tmp_path):
    _sweep_folder(tmp_path / "data")
    doc = tmp_path / "docs/results/x.md"
    doc.parent.mkdir(parents=True)
    doc.write_text("Command: make run\nCommit: abc1234\n\n<!-- figures: sweep data -->\nold\n<!-- /figures -->\n")
    assert check(tmp_path) == [
        "docs/results/x.md: a figures block differs from its result file (make check-docs WRITE=1)"
    ]
    assert main(["--root", str(tmp_path), "--write"]) == 0
    assert check(tmp_path) == []
    text = doc.read_text()
    assert "| beta_vae-beta=1 | 2 | 0.030 ± 0.010 [0.020, 0.040] |" in text
    assert "| beta_vae-beta=8 | 1 | 0.200 ± 0.000 [0.200, 0.200] |" in text
    assert "| VAE | 60.00 ± 1.00 | 2 | 10 |" in text
    assert regenerate(text, tmp_path) == text


def test_missing_result_files_and_provenance_are_reported(tmp_path):
    doc = tmp_path / "docs/results/y.md"
    doc.parent.mkdir(parents=True)
    doc.write_text("<!-- figures: sweep gone -->\n<!-- /figures -->\n")
    problems = check(tmp_path)
    assert "docs/results/y.md: result file gone named by a figures block does not exist" in problems
    assert any("Command:" in p for p in problems) and any("Commit:" in p for p in problems)


def test_latents_block_lists_active_latents_and_kl_largest_first(tmp_path):
    from betavae.report.results_docs import latents_markdown

    scores = {
        "beta_vae-beta=150-seed=0": {
            "reconstruction.active_latents_kl": 2.0,
            "reconstruction.kl.0": 0.004,
            "reconstruction.kl.1": 2.5,
            "reconstruction.kl.2": 3.25,
            "reconstruction.kl": 5.754,  # the total, not a latent
        },
        "beta_vae-beta=1-seed=0": {"reconstruction.kl.0": 1.0},
    }
    (tmp_path / "scores.json").write_text(json.dumps(scores))
    assert latents_markdown(tmp_path).splitlines() == [
        "| run | active latents (KL > 0.01 nats) | KL per latent (nats), largest first |",
        "| --- | ---: | --- |",
        "| beta_vae-beta=150-seed=0 | 2 | z2 3.25, z1 2.50, z0 0.00 |",
        "| beta_vae-beta=1-seed=0 | - | z0 1.00 |",
    ]
