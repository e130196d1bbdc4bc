"""Stored datasets with known contents for the tests, and the damage a faulty writer would do to one."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from betavae.data import _zstd_npy as zstd_npy
from betavae.data import storage
from betavae.data.storage import write_dataset
from tests.helpers.block_grid import BlockGrid


def write_block_grid(out_dir: Path, **split: Any) -> Path:
    """Store the 32-image BlockGrid under ``out_dir`` (`split`: write_dataset's test_rows and split)."""
    grid = BlockGrid()
    return write_dataset(
        out_dir,
        name="blocks",
        kind="dummy",
        images=grid.images,
        factor_names=grid.factor_names,
        factor_sizes=grid.factor_sizes,
        factor_values=grid.factor_values,
        factor_classes=grid.all_classes,
        binary=True,
        source="procedural",
        **split,
    )


def rewrite(
    dataset_dir: Path,
    *,
    images: np.ndarray | None = None,
    packed: bool = True,
    factors: pa.Table | None = None,
    manifest_changes: Callable[[dict], None] | None = None,
) -> None:
    """Replace files of a dataset as a faulty writer would, keeping the manifest digests consistent."""
    manifest = json.loads((dataset_dir / "manifest.json").read_text())
    if images is not None:
        zstd_npy.save_array(dataset_dir / storage.IMAGES_FILE, images)
        manifest["packed"] = packed
    if factors is not None:
        pq.write_table(factors, dataset_dir / storage.FACTORS_FILE)
    for fname, meta in manifest["files"].items():
        meta["sha256"] = zstd_npy.sha256_file(dataset_dir / fname)
        meta["bytes"] = (dataset_dir / fname).stat().st_size
    if manifest_changes is not None:
        manifest_changes(manifest)
    (dataset_dir / "manifest.json").write_text(json.dumps(manifest))
