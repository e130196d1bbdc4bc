"""Corrupt, truncated or mismatched files under data/: a DataError naming the file, never a crash."""

from __future__ import annotations

import json
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from betavae.data.storage import load_dataset
from betavae.errors import DataError
from tests.helpers.damage import damage
from tests.helpers.datasets import write_block_grid

FILES = ["images.npy.zst", "factors.parquet", "manifest.json"]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    return write_block_grid(tmp_path_factory.mktemp("data") / "blocks")


def test_the_pristine_dataset_loads(pristine):
    assert load_dataset(pristine).images.shape == (32, 8, 8, 1)
    assert sorted(p.name for p in pristine.iterdir()) == sorted(FILES)


@pytest.mark.parametrize("name", FILES)
def test_a_missing_file_is_named(pristine, tmp_path, name):
    copy = shutil.copytree(pristine, tmp_path / "blocks")
    (copy / name).unlink()
    with pytest.raises(DataError, match=name.replace(".", r"\.")):
        load_dataset(copy)


@pytest.mark.parametrize("entry", [{"sha25 ": "ab"}, {"sha256": 7}, "ab"], ids=["damaged key", "number", "string"])
def test_a_damaged_file_entry_of_the_manifest_is_named(pristine, tmp_path, entry):
    """A hash key damaged in place (the first case is what the fuzz test below once drew) is a DataError."""
    copy = shutil.copytree(pristine, tmp_path / "blocks")
    manifest = json.loads((copy / "manifest.json").read_text())
    first = sorted(manifest["files"])[0]
    manifest["files"][first] = entry
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DataError, match=f"the manifest's entry for '{first}' lacks its sha256"):
        load_dataset(copy)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_damage_to_any_file_is_refused_or_harmless(pristine, tmp_path_factory, data):
    """Cut, extend or overwrite a stored file; with checksums on, and with them off (the parsers alone)."""
    copy = shutil.copytree(pristine, tmp_path_factory.mktemp("fuzz") / "blocks")
    name = data.draw(st.sampled_from(FILES))
    raw = damage(data, (copy / name).read_bytes(), max_extension=32, max_patch=16)
    changed = raw != (copy / name).read_bytes()
    (copy / name).write_bytes(raw)
    verify = data.draw(st.booleans())
    try:
        loaded = load_dataset(copy, verify=verify)
    except DataError as exc:
        assert str(exc).strip() and len(str(exc).splitlines()) <= 5 and len(str(exc)) < 1000
        return
    assert not (verify and changed and name != "manifest.json"), "a damaged file passed its checksum"
    assert loaded.images.shape[1:] == (8, 8, 1) and loaded.images.max() <= 1


@pytest.mark.parametrize(
    "edit, expected",
    [
        (lambda m: m.pop("num_images"), "manifest lacks keys"),
        (lambda m: m.update(num_images=31), "images"),
        (lambda m: m.update(observation_shape=[8, 8, 3]), "expected packed uint8"),
        (lambda m: m.update(factor_names=["a"]), "factor"),
        (lambda m: m["files"]["images.npy.zst"].update(sha256="0" * 64), "does not match the manifest"),
    ],
)
def test_a_mismatched_manifest_is_refused(pristine, tmp_path, edit, expected):
    copy = shutil.copytree(pristine, tmp_path / "blocks")
    manifest = json.loads((copy / "manifest.json").read_text())
    edit(manifest)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DataError, match=expected):
        load_dataset(copy)
