"""Great Expectations validation of stored datasets: a valid copy passes, each corruption is named."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from betavae.data import _zstd_npy as zstd_npy
from betavae.data import storage
from betavae.data.validation import check_dataset
from betavae.errors import DataValidationError
from tests.helpers.datasets import rewrite


def failures(block_dir: Path, docs: Path) -> tuple[str, set[tuple[str, str]]]:
    with pytest.raises(DataValidationError) as info:
        check_dataset(block_dir, docs)
    summary = json.loads((docs / "summary.json").read_text())
    assert summary["success"] is False
    failed = {(o["expectation"], o["target"]) for o in summary["outcomes"] if not o["success"]}
    return str(info.value), failed


def test_valid_dataset_passes_and_writes_docs(block_dir: Path, tmp_path: Path) -> None:
    docs = tmp_path / "validation" / "blocks"
    report = check_dataset(block_dir, docs)
    assert report.success and report.num_rows == 32 and report.dataset == "blocks"
    kinds = {o.expectation for o in report.outcomes}
    assert {
        "expect_table_row_count_to_equal",
        "expect_compound_columns_to_be_unique",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_between",
        "expect_column_pair_values_to_be_equal",
    } <= kinds
    assert report.docs_index == docs / "index.html"
    html = report.docs_index.read_text()
    assert "blocks_images" in html and "blocks_files" in html
    summary = json.loads((docs / "summary.json").read_text())
    assert summary["success"] is True and summary["num_rows"] == 32 and summary["failed"] == []
    assert str(report).startswith("blocks: 32 rows, 17 expectations, passed in ")
    assert str(docs / "index.html") in str(report)


def test_duplicated_row_is_named(block_dir: Path, tmp_path: Path) -> None:
    table = pq.read_table(block_dir / "factors.parquet").to_pandas()
    table.iloc[5] = table.iloc[4]
    rewrite(block_dir, factors=pa.Table.from_pandas(table, preserve_index=False))
    message, failed = failures(block_dir, tmp_path / "docs")
    assert failed == {("expect_compound_columns_to_be_unique", "images: x, y, size")}
    assert "expect_compound_columns_to_be_unique(images: x, y, size): 2 unexpected" in message


def test_missing_combination_is_named(block_dir: Path, tmp_path: Path) -> None:
    bits = zstd_npy.load_array(block_dir / storage.IMAGES_FILE)
    table = pq.read_table(block_dir / "factors.parquet")

    def shrink(manifest: dict) -> None:
        manifest["num_images"] = 31

    rewrite(block_dir, images=bits[:31], factors=table.slice(0, 31), manifest_changes=shrink)
    message, failed = failures(block_dir, tmp_path / "docs")
    assert failed == {("expect_table_row_count_to_equal", "images")}
    assert "expect_table_row_count_to_equal(images): observed 31" in message


def test_null_factor_is_named(block_dir: Path, tmp_path: Path) -> None:
    table = pq.read_table(block_dir / "factors.parquet").to_pandas().astype({"y": float})
    table.loc[3, "y"] = np.nan
    rewrite(block_dir, factors=pa.Table.from_pandas(table, preserve_index=False))
    message, failed = failures(block_dir, tmp_path / "docs")
    assert failed == {("expect_column_values_to_not_be_null", "images: y")}
    assert "expect_column_values_to_not_be_null(images: y): 1 unexpected" in message


def test_pixel_value_two_is_named(block_dir: Path, tmp_path: Path) -> None:
    images = storage.load_dataset(block_dir).images.copy()
    # image 6 is (x, y, size) = (0, 3, 0): one lit pixel at row 6, column 0. Move it and make it 2;
    # the lit-pixel count stays 1 and the foreground fraction 2/64 stays inside the manifest's range.
    images[6, 6, 0, 0] = 0
    images[6, 4, 6, 0] = 2
    rewrite(block_dir, images=images, packed=False)
    message, failed = failures(block_dir, tmp_path / "docs")
    assert failed == {("expect_column_values_to_be_between", "images: pixel_max")}
    assert "expect_column_values_to_be_between(images: pixel_max): 1 unexpected" in message


def test_blank_image_is_named(block_dir: Path, tmp_path: Path) -> None:
    bits = zstd_npy.load_array(block_dir / storage.IMAGES_FILE).copy()
    bits[9] = 0
    rewrite(block_dir, images=bits)
    _, failed = failures(block_dir, tmp_path / "docs")
    assert failed == {
        ("expect_column_values_to_be_between", "images: lit_pixels"),
        ("expect_column_values_to_be_between", "images: foreground_fraction"),
    }


def test_tampered_digest_is_named(block_dir: Path, tmp_path: Path) -> None:
    def tamper(manifest: dict) -> None:
        manifest["files"][storage.IMAGES_FILE]["sha256"] = "0" * 64

    rewrite(block_dir, manifest_changes=tamper)
    message, failed = failures(block_dir, tmp_path / "docs")
    assert failed == {("expect_column_pair_values_to_be_equal", "files: manifest_sha256 == actual_sha256")}
    assert "expect_column_pair_values_to_be_equal" in message and "1 unexpected" in message
