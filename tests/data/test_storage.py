"""Round trips, atomic writes and tamper detection of the on-disk dataset layout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from betavae.data import _zstd_npy as zstd_npy
from betavae.data import storage
from betavae.data.storage import PackedImages, load_dataset, write_dataset, writer
from betavae.errors import DataError
from tests.helpers.block_grid import BlockGrid


def test_round_trip_is_exact(block_dir: Path) -> None:
    grid = BlockGrid()
    ds = load_dataset(block_dir)
    assert ds.images.dtype == np.uint8
    assert ds.images.shape == (32, 8, 8, 1)
    assert np.array_equal(ds.images, grid.images)
    assert np.array_equal(ds.factor_classes, grid.all_classes)
    assert ds.name == "blocks" and ds.binary and ds.has_factors and ds.is_complete_grid
    assert ds.factor_names == ("x", "y", "size") and ds.factor_sizes == (4, 4, 2)
    assert np.array_equal(ds.factor_values[2], [1.0, 2.0])
    assert ds.max_pixel_value == 1 and ds.observation_shape == (8, 8, 1)
    # Blocks hold 1 or 4 lit pixels of 64.
    assert ds.manifest["foreground_range"] == [1 / 64, 4 / 64]
    assert ds.digest == zstd_npy.sha256_file(block_dir / storage.IMAGES_FILE)


def test_files_on_disk_follow_the_layout(block_dir: Path) -> None:
    assert sorted(p.name for p in block_dir.iterdir()) == ["factors.parquet", "images.npy.zst", "manifest.json"]
    manifest = json.loads((block_dir / "manifest.json").read_text())
    assert manifest["packed"] is True and manifest["complete_grid"] is True
    assert manifest["num_images"] == 32 and manifest["observation_shape"] == [8, 8, 1]
    packed = zstd_npy.load_array(block_dir / "images.npy.zst")
    assert packed.shape == (32, 8) and packed.dtype == np.uint8  # 64 bits -> 8 bytes per image
    table = pq.read_table(block_dir / "factors.parquet")
    assert table.column_names == ["x", "y", "size"]
    assert table.column("size").to_pylist()[:4] == [0, 1, 0, 1]
    for fname, meta in manifest["files"].items():
        assert meta["sha256"] == zstd_npy.sha256_file(block_dir / fname)


def test_grey_images_round_trip_unpacked(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, size=(10, 5, 4, 3), dtype=np.uint8)
    labels = rng.integers(0, 3, size=(10, 1))
    out = write_dataset(
        tmp_path / "grey",
        name="grey",
        kind="test",
        images=images,
        factor_names=["label"],
        factor_sizes=[3],
        factor_values=[[0, 1, 2]],
        factor_classes=labels,
        binary=False,
        source="path",
    )
    ds = load_dataset(out)
    assert np.array_equal(ds.images, images)
    assert not ds.manifest["packed"] and ds.max_pixel_value == 255
    assert not ds.is_complete_grid
    lo, hi = ds.manifest["foreground_range"]
    means = images.reshape(10, -1).mean(axis=1) / 255
    assert lo == pytest.approx(means.min()) and hi == pytest.approx(means.max())
    # Not a grid: an observation is drawn among the images sharing the label.
    obs = ds.sample_observations_from_factors(np.array([[labels[0, 0]]]), np.random.default_rng(0))
    assert any(np.array_equal(obs[0], images[i]) for i in np.flatnonzero(labels[:, 0] == labels[0, 0]))
    with pytest.raises(DataError, match="not a complete factor grid"):
        ds.classes_to_index(np.array([[0]]))


def test_packed_input_equals_unpacked_input(tmp_path: Path, block_dir: Path) -> None:
    grid = BlockGrid()
    bits = np.packbits(grid.images.reshape(32, -1), axis=1)
    out = write_dataset(
        tmp_path / "packed",
        name="blocks",
        kind="dummy",
        images=PackedImages(bits, (8, 8, 1)),
        factor_names=grid.factor_names,
        factor_sizes=grid.factor_sizes,
        factor_values=grid.factor_values,
        factor_classes=grid.all_classes,
        binary=True,
        source="procedural",
    )
    assert (out / "images.npy.zst").read_bytes() == (block_dir / "images.npy.zst").read_bytes()
    assert np.array_equal(load_dataset(out).images, grid.images)


def test_rewrite_replaces_existing_dataset(block_dir: Path) -> None:
    grid = BlockGrid()
    flipped = grid.images[::-1].copy()
    write_dataset(
        block_dir,
        name="blocks2",
        kind="dummy",
        images=flipped,
        factor_names=grid.factor_names,
        factor_sizes=grid.factor_sizes,
        factor_values=grid.factor_values,
        factor_classes=grid.all_classes[::-1],
        binary=True,
        source="procedural",
    )
    ds = load_dataset(block_dir)
    assert ds.name == "blocks2" and np.array_equal(ds.images, flipped)
    assert sorted(p.name for p in block_dir.parent.iterdir()) == ["blocks"]


def test_failure_mid_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(writer.pq, "write_table", boom)  # images are written, the factor table fails
    grid = BlockGrid()
    with pytest.raises(RuntimeError, match="disk full"):
        write_dataset(
            tmp_path / "blocks",
            name="blocks",
            kind="dummy",
            images=grid.images,
            factor_names=grid.factor_names,
            factor_sizes=grid.factor_sizes,
            factor_values=grid.factor_values,
            factor_classes=grid.all_classes,
            binary=True,
            source="procedural",
        )
    assert list(tmp_path.iterdir()) == []


def test_failure_mid_rewrite_keeps_old_dataset(block_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = (block_dir / "images.npy.zst").read_bytes()

    def killed(*args: object, **kwargs: object) -> None:
        raise RuntimeError("killed")

    monkeypatch.setattr(writer, "save_array", killed)
    grid = BlockGrid()
    with pytest.raises(RuntimeError, match="killed"):
        write_dataset(
            block_dir,
            name="other",
            kind="dummy",
            images=grid.images,
            factor_names=grid.factor_names,
            factor_sizes=grid.factor_sizes,
            factor_values=grid.factor_values,
            factor_classes=grid.all_classes,
            binary=True,
            source="procedural",
        )
    assert (block_dir / "images.npy.zst").read_bytes() == before
    assert [p.name for p in block_dir.parent.iterdir()] == ["blocks"]


def test_tampered_images_fail_with_checksum_error(block_dir: Path) -> None:
    path = block_dir / "images.npy.zst"
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=r"images\.npy\.zst: sha256 .* does not match the manifest"):
        load_dataset(block_dir)


def test_tampered_factor_table_fails(block_dir: Path) -> None:
    path = block_dir / "factors.parquet"
    table = pq.read_table(path)
    pq.write_table(table.slice(1), path)
    with pytest.raises(DataError, match=r"factors\.parquet: sha256"):
        load_dataset(block_dir)


def test_truncated_images_fail_even_unverified(block_dir: Path) -> None:
    path = block_dir / "images.npy.zst"
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(DataError, match="images.npy.zst"):
        load_dataset(block_dir, verify=False)


def test_missing_manifest_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no manifest"):
        load_dataset(tmp_path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"images": np.full((32, 8, 8, 1), 2, dtype=np.uint8)}, "only 0 and 1, found pixel value 2"),
        ({"images": np.zeros((32, 8, 8), dtype=np.uint8)}, r"uint8 \(N, H, W, C\)"),
        ({"factor_sizes": (4, 4, 3)}, "'size' needs 3 finite values"),
        ({"factor_classes": np.full((32, 3), 4)}, r"'x' classes must lie in 0..3, got 4..4"),
        ({"factor_names": ("x", "x", "size")}, "distinct"),
        ({"factor_classes": None}, "required"),
        ({"extra": {"when": object()}}, "JSON-serialisable"),
    ],
)
def test_bad_input_is_rejected(tmp_path: Path, change: dict, message: str) -> None:
    grid = BlockGrid()
    kwargs = dict(
        name="blocks",
        kind="dummy",
        images=grid.images,
        factor_names=grid.factor_names,
        factor_sizes=grid.factor_sizes,
        factor_values=grid.factor_values,
        factor_classes=grid.all_classes,
        binary=True,
        source="procedural",
    )
    kwargs.update(change)
    with pytest.raises(DataError, match=message):
        write_dataset(tmp_path / "bad", **kwargs)
    assert list(tmp_path.iterdir()) == []
