"""The held-out split: stored with the dataset and part of its digest, never drawn by training, and what
reconstruction and the ELBO are measured on."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from betavae.config import EvaluateConfig, build_run_config, expand_sweep
from betavae.data import _zstd_npy as zstd_npy
from betavae.data import storage
from betavae.data.acquire import acquire_dataset
from betavae.data.split import held_out, seeded_test_rows, train_rows
from betavae.data.storage import load_dataset, write_dataset
from betavae.data.validation import check_dataset
from betavae.errors import ConfigError, DataError, DataValidationError
from betavae.evaluation import reconstruction
from betavae.evaluation.scoring import evaluate_checkpoint
from betavae.paths import WEIGHTS_FILE
from betavae.training.checkpoint import model_from_checkpoint, seal_checkpoint
from betavae.training.engine import train
from betavae.training.step import BatchSampler
from tests.helpers.block_grid import BlockGrid
from tests.helpers.datasets import write_block_grid
from tests.helpers.runs import random_binary_images, tiny_params

TEST_ROWS = np.array([1, 6, 7, 20, 31])


def _blocks(out: Path, test_rows=TEST_ROWS, split=None) -> Path:
    return write_block_grid(
        out, test_rows=test_rows, split=split or {"rule": "seeded", "test_fraction": 0.15, "seed": 4}
    )


def _factorless(out: Path, images: np.ndarray, test_rows: np.ndarray) -> Path:
    return write_dataset(
        out,
        name="tiny",
        kind="dummy",
        images=images,
        factor_names=(),
        factor_sizes=(),
        factor_values=(),
        factor_classes=None,
        binary=True,
        source="procedural",
        test_rows=test_rows,
    )


def test_seeded_rows_are_a_fixed_draw_of_the_fraction() -> None:
    rows = seeded_test_rows(1000, 0.1, 0)
    assert len(rows) == 100 and np.all(np.diff(rows) > 0) and rows[0] >= 0 and rows[-1] < 1000
    assert np.array_equal(rows, np.sort(np.random.default_rng(0).choice(1000, size=100, replace=False)))
    assert np.array_equal(rows, seeded_test_rows(1000, 0.1, 0)), "the same rows on every call"
    assert not np.array_equal(rows, seeded_test_rows(1000, 0.1, 1))
    assert seeded_test_rows(1000, 0.0, 0).size == 0
    assert seeded_test_rows(5, 0.01, 0).size == 1, "a positive fraction holds at least one image out"
    with pytest.raises(DataError, match=r"a test fraction of 0.5 of 1 images leaves no image to train on"):
        seeded_test_rows(1, 0.5, 0)


def test_the_split_is_stored_listed_and_read_back(tmp_path: Path) -> None:
    out = _blocks(tmp_path / "blocks")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["split"] == {
        "rule": "seeded",
        "test_fraction": 0.15,
        "seed": 4,
        "file": storage.SPLIT_FILE,
        "num_train": 27,
        "num_test": 5,
    }
    assert manifest["files"][storage.SPLIT_FILE]["sha256"] == zstd_npy.sha256_file(out / storage.SPLIT_FILE)
    data = load_dataset(out)
    assert np.array_equal(data.test_rows, TEST_ROWS)
    assert np.array_equal(data.train_rows, np.setdiff1d(np.arange(32), TEST_ROWS))
    assert np.array_equal(train_rows(data), data.train_rows)
    test = held_out(data)
    assert test.num_images == 5 and not test.is_complete_grid and held_out(data) is test
    assert np.array_equal(test.images, BlockGrid().images[TEST_ROWS])
    assert np.array_equal(test.index_to_classes(np.arange(5)), BlockGrid().all_classes[TEST_ROWS])
    assert data.is_complete_grid, "the factor metrics still see the whole grid"


def test_the_split_is_part_of_the_digest(tmp_path: Path) -> None:
    images_only = load_dataset(_blocks(tmp_path / "a", test_rows=None))
    assert images_only.test_rows is None and "split" not in images_only.manifest
    assert held_out(images_only) is images_only and train_rows(images_only) is None
    assert images_only.digest == zstd_npy.sha256_file(tmp_path / "a" / storage.IMAGES_FILE)
    split = load_dataset(_blocks(tmp_path / "b"))
    other = load_dataset(_blocks(tmp_path / "c", test_rows=np.array([0, 2])))
    again = load_dataset(_blocks(tmp_path / "d"))
    assert len({images_only.digest, split.digest, other.digest}) == 3
    assert split.digest == again.digest


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (np.array([3, 1]), "sorted and distinct"),
        (np.array([0, 32]), r"must lie in 0\.\.31"),
        (np.arange(32), "none is left to train on"),
        (np.array([[1, 2]]), "1-D array"),
    ],
)
def test_bad_test_rows_are_refused_before_anything_is_written(tmp_path: Path, rows, message) -> None:
    with pytest.raises(DataError, match=message):
        _blocks(tmp_path / "blocks", test_rows=rows)
    assert not (tmp_path / "blocks").exists()


def test_altered_test_rows_are_caught(tmp_path: Path) -> None:
    out = _blocks(tmp_path / "blocks")
    zstd_npy.save_array(out / storage.SPLIT_FILE, np.array([1, 6, 7, 20]))
    with pytest.raises(DataError, match=r"test_rows\.npy\.zst: sha256 .* does not match"):
        load_dataset(out)
    with pytest.raises(DataError, match="4 test rows, the manifest says 5"):
        load_dataset(out, verify=False)
    with pytest.raises(DataValidationError, match="actual_sha256"):
        check_dataset(out, tmp_path / "docs")


def test_validation_checks_both_parts(tmp_path: Path) -> None:
    report = check_dataset(_blocks(tmp_path / "blocks"), tmp_path / "docs")
    checked = {(o.expectation, o.target) for o in report.outcomes}
    assert ("expect_column_distinct_values_to_equal_set", "images: split") in checked
    verdict = json.loads((tmp_path / "docs" / "verdict.json").read_text())
    assert verdict["dataset_sha256"] == load_dataset(tmp_path / "blocks").digest


def test_the_sampler_draws_only_the_train_rows() -> None:
    images = np.arange(40, dtype=np.uint8).reshape(40, 1, 1, 1)  # image i holds the value i
    rows = np.setdiff1d(np.arange(40), [0, 5, 17, 39])
    sampler = BatchSampler(images, 255, 512, torch.device("cpu"), seed=0, rows=rows)
    drawn = set()
    for _ in range(4):
        drawn |= set((sampler.draw().flatten() * 255).round().int().tolist())
    assert drawn == set(rows.tolist()), "every train row drawn, no test row"


def test_training_counts_only_the_train_split(tmp_path: Path) -> None:
    out = _factorless(tmp_path / "d", random_binary_images(20, 28), np.arange(2, 20))
    with pytest.raises(ConfigError, match=r"\(2 images to train on, its test split held out\)"):
        train(build_run_config(tiny_params(), "tiny"), load_dataset(out), tmp_path / "ckpt", progress=False)


def test_reconstruction_is_measured_on_the_test_split(tmp_path: Path) -> None:
    # Train on blank images only; the test images are the prototypes the model never saw.
    images = np.concatenate([np.zeros((24, 28, 28, 1), np.uint8), random_binary_images(8, 28)])
    out = _factorless(tmp_path / "d", images, np.arange(24, 32))
    data = load_dataset(out)
    params = tiny_params(steps=20, batch_size=8, snapshots=[])
    run = expand_sweep({**params, "sweep": {"grid": {}, "seeds": [0]}}, "tiny")[0]
    result = train(run, data, tmp_path / "ckpt", progress=False)
    weights = seal_checkpoint(result.checkpoint, tmp_path / "weights" / WEIGHTS_FILE)
    profiles = {"tiny": {"mig": {"num_train": 64, "num_bins": 4}}}  # skipped: the images have no factors
    cfg = EvaluateConfig.from_dict(
        {
            "profile": "tiny",
            "profiles": profiles,
            "reconstruction_samples": 64,
            "table": {"metric": "mig", "score": "score"},
        }
    )
    scored = evaluate_checkpoint(weights, data, cfg).scores
    model, _ = model_from_checkpoint(weights)
    on_test = reconstruction.compute(model, held_out(data), np.random.default_rng(1), num_samples=64)
    on_train = reconstruction.compute(model, data, np.random.default_rng(1), num_samples=64)
    assert scored["reconstruction.log_likelihood"] == on_test["log_likelihood"]
    assert on_test["log_likelihood"] < on_train["log_likelihood"], "unseen images reconstruct worse"


def test_mnist_reads_its_official_split_and_other_kinds_a_fraction(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    spec = {"kind": "blobs", "source": "procedural", "grid": 6, "test_fraction": 0.25, "split_seed": 2}
    data = load_dataset(acquire_dataset("blobs", spec, project / "data", project))
    assert np.array_equal(data.test_rows, seeded_test_rows(36, 0.25, 2)) and len(data.test_rows) == 9
    spec = {"kind": "blobs", "source": "procedural", "grid": 6, "test_fraction": 0}
    assert load_dataset(acquire_dataset("whole", spec, project / "data", project)).test_rows is None


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"kind": "mnist", "source": "official", "test_fraction": 0.2},
            r"data\.datasets\.x\.test_fraction applies to datasets without a published split",
        ),
        ({"kind": "blobs", "source": "procedural", "test_fraction": 0.6}, r"test_fraction must be <= 0\.5"),
        ({"kind": "blobs", "source": "procedural", "test_fraction": True}, r"data\.datasets\.x\.test_fraction"),
        ({"kind": "blobs", "source": "procedural", "split_seed": -1}, r"data\.datasets\.x\.split_seed must be >= 0"),
    ],
)
def test_bad_split_settings_name_the_key(tmp_path: Path, spec, message) -> None:
    with pytest.raises(ConfigError, match=message):
        acquire_dataset("x", spec, tmp_path / "d", tmp_path)
