"""acquire_dataset end to end: official-format files served over HTTP on 127.0.0.1, spec validation, and
atomicity (a failed acquisition leaves no partial output)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from betavae.data import storage
from betavae.data.acquire import acquire_dataset, acquire_named, parse_spec
from betavae.data.importers import dsprites_official, mnist, shapes3d
from betavae.data.split import seeded_test_rows
from betavae.data.storage import load_dataset, writer
from betavae.errors import ConfigError, DataError
from tests.helpers import importer_samples as samples
from tests.helpers.http_server import serve_directory


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One small file (or set of files) in each official format."""
    root = tmp_path_factory.mktemp("site")
    files = {
        "dsprites": samples.save_npz(root / dsprites_official.FILENAME, samples.dsprites_arrays()),
        "shapes3d": samples.save_h5(root / shapes3d.FILENAME, samples.shapes3d_arrays()),
        "emnist": samples.write_emnist_zip(root / "gzip.zip", "balanced", "test", 94),
        # Named across the start of CelebA's official test partition (182638): two train, three test images.
        "celeba": samples.write_celeba_zip(root / "img_align_celeba.zip", n=5, first=182636),
        "celeba_corrupt": samples.write_celeba_zip(root / "corrupt.zip", n=5, corrupt_index=3, first=182636),
    }
    images, labels = samples.write_mnist_dir(root / "mnist", "train", 40)
    files["mnist_images"], files["mnist_labels"] = images, labels
    files["mnist_test_images"], files["mnist_test_labels"] = samples.write_mnist_dir(root / "mnist", "test", 12)
    return files


@pytest.fixture(scope="module")
def server(site: dict[str, Path]):
    root = site["dsprites"].parent
    with serve_directory(root) as (base, seen):
        yield base, seen


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    return root


def _hidden(directory: Path) -> list[str]:
    """Temp and scratch entries (dot-files) anywhere below ``directory``."""
    return sorted(str(p.relative_to(directory)) for p in directory.rglob(".*"))


def _official_specs(base: str, site: dict[str, Path]) -> dict[str, dict]:
    return {
        "dsprites": {
            "kind": "dsprites",
            "source": "official",
            "url": f"{base}/{dsprites_official.FILENAME}",
            "md5": _md5(site["dsprites"]),
            "expect_full": False,
        },
        "shapes3d": {
            "kind": "shapes3d",
            "source": "official",
            "url": f"{base}/{shapes3d.FILENAME}",
            "sha256": _sha256(site["shapes3d"]),
            "expect_full": False,
        },
        "mnist": {
            "kind": "mnist",
            "source": "official",
            "url": f"{base}/mnist",
            "md5": {
                p.name: _md5(p)
                for p in (
                    site["mnist_images"],
                    site["mnist_labels"],
                    site["mnist_test_images"],
                    site["mnist_test_labels"],
                )
            },
            "limit": 25,  # of each file: the official split reads both
        },
        "emnist": {
            "kind": "emnist",
            "source": "official",
            "url": f"{base}/gzip.zip",
            "md5": _md5(site["emnist"]),
            "subset": "balanced",
            "split": "test",
        },
        "celeba": {
            "kind": "celeba",
            "source": "official",
            "url": f"{base}/img_align_celeba.zip",
            "md5": _md5(site["celeba"]),
            "crop": 140,
        },
    }


# (num_images, factor_sizes, observation_shape, binary, complete grid)
EXPECTED = {
    "dsprites": (48, (3, 2, 2, 2, 2), (64, 64, 1), True, True),
    "shapes3d": (96, (2, 2, 2, 2, 2, 3), (64, 64, 3), False, True),
    "mnist": (25 + 12, (10,), (28, 28, 1), False, False),
    "emnist": (94, (47,), (28, 28, 1), False, False),  # two images per class
    "celeba": (5, (), (64, 64, 3), False, False),
}


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_official_source_over_http_is_imported_and_cached(kind: str, server, site, project: Path) -> None:
    base, seen = server
    spec = _official_specs(base, site)[kind]
    data_root = project / "data" / "datasets"
    before = len(seen)
    out = acquire_dataset(kind, spec, data_root, project)
    assert out == data_root.resolve() / kind
    data = load_dataset(out)
    n, sizes, shape, binary, complete = EXPECTED[kind]
    assert (data.num_images, data.factor_sizes, data.observation_shape) == (n, sizes, shape)
    assert (data.binary, data.is_complete_grid) == (binary, complete)
    assert data.manifest["kind"] == kind and data.manifest["source"] == "official"
    assert data.manifest["extra"]["spec"]["url"] == spec["url"]
    downloads = len(seen) - before
    assert downloads == (4 if kind == "mnist" else 1)
    # MNIST holds out its published test file (the last 12 rows), CelebA the images numbered from 182638;
    # the others a seeded tenth of their images.
    official = {"mnist": np.arange(25, 37), "celeba": np.array([2, 3, 4])}
    want = official.get(kind, seeded_test_rows(n, 0.1, 0))
    assert np.array_equal(data.test_rows, want)
    rule = "official" if kind in official else "seeded"
    assert data.manifest["split"]["rule"] == rule and data.manifest["split"]["num_test"] == len(want)
    # Acquiring again hits the checksum cache: no new request, same images.
    again = acquire_dataset(kind, spec, data_root, project)
    assert len(seen) - before == downloads
    assert load_dataset(again).digest == data.digest
    assert _hidden(project) == []


def test_dsprites_official_content_round_trips(server, site, project: Path) -> None:
    base, _ = server
    spec = _official_specs(base, site)["dsprites"]
    data = load_dataset(acquire_dataset("dsprites_official", spec, project / "data" / "datasets", project))
    arrays = samples.dsprites_arrays()
    np.testing.assert_array_equal(data.images[..., 0], arrays["imgs"])
    np.testing.assert_array_equal(data.factor_classes, arrays["latents_classes"][:, 1:])
    assert data.factor_names == ("shape", "scale", "orientation", "posX", "posY")
    cached = project / "data" / "downloads" / f"md5-{spec['md5']}" / dsprites_official.FILENAME
    assert cached.read_bytes() == site["dsprites"].read_bytes()


def test_blobs_procedural(project: Path) -> None:
    out = acquire_dataset(
        "blobs", {"kind": "blobs", "source": "procedural", "grid": [4, 3], "sigma": 2.0}, project / "d", project
    )
    data = load_dataset(out)
    assert data.factor_sizes == (4, 3) and data.num_images == 12 and data.is_complete_grid
    assert data.images[0, 4, 4, 0] == 255  # margin 2 * sigma = 4: first centre on pixel (4, 4)
    assert data.classes_to_index(np.array([[3, 2]])).tolist() == [11]


def test_path_source_reads_in_place(site, project: Path) -> None:
    raw = project / "raw"
    raw.mkdir()
    (raw / "mine.npz").write_bytes(site["dsprites"].read_bytes())
    spec = {
        "kind": "dsprites",
        "source": "path",
        "path": "raw/mine.npz",
        "expect_full": False,
        "md5": _md5(site["dsprites"]),
    }
    data = load_dataset(acquire_dataset("d", spec, project / "data" / "datasets", project))
    assert data.num_images == 48 and data.manifest["source"] == "path"
    assert not (project / "data" / "downloads").exists()  # nothing copied


def test_official_download_without_checksum_is_checked_against_the_published_one(server, site, project: Path) -> None:
    base, _ = server
    spec = {
        "kind": "dsprites",
        "source": "official",
        "url": f"{base}/{dsprites_official.FILENAME}",
        "expect_full": False,
    }
    with pytest.raises(
        DataError,
        match=rf"checksum mismatch for {dsprites_official.FILENAME}: expected {dsprites_official.OFFICIAL_MD5}, "
        rf"got {_md5(site['dsprites'])}",
    ):
        acquire_dataset("d", spec, project / "data" / "datasets", project)
    assert not (project / "data" / "datasets" / "d").exists()
    assert _hidden(project) == []


def test_checksum_mismatch_leaves_an_existing_dataset_untouched(server, site, project: Path) -> None:
    base, _ = server
    data_root = project / "data" / "datasets"
    good = _official_specs(base, site)["shapes3d"]
    out = acquire_dataset("s", good, data_root, project)
    manifest_before = (out / "manifest.json").read_bytes()
    bad = dict(good, sha256="f" * 64)
    with pytest.raises(
        DataError, match=rf"checksum mismatch for 3dshapes\.h5: expected {'f' * 64}, got {_sha256(site['shapes3d'])}"
    ):
        acquire_dataset("s", bad, data_root, project)
    assert (out / "manifest.json").read_bytes() == manifest_before
    assert _hidden(project) == []


def test_truncated_download_fails_without_output(server, site, project: Path) -> None:
    base, _ = server
    spec = dict(_official_specs(base, site)["emnist"], url=f"{base}/truncate/500/gzip.zip")
    size = site["emnist"].stat().st_size
    with pytest.raises(
        DataError, match=rf"truncated download: got 500 of {size} bytes from {base}/truncate/500/gzip\.zip"
    ):
        acquire_dataset("e", spec, project / "data" / "datasets", project, fetch_options={"attempts": 1})
    assert list((project / "data" / "datasets").iterdir()) == []
    assert _hidden(project) == []


def test_importer_failing_midway_leaves_previous_dataset_and_no_leftovers(server, site, project: Path) -> None:
    base, _ = server
    data_root = project / "data" / "datasets"
    good = _official_specs(base, site)["celeba"]
    out = acquire_dataset("faces", good, data_root, project)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    # Image 4 of 5 cannot be decoded: the importer has written 3 images into its scratch file by then.
    broken = dict(good, url=f"{base}/corrupt.zip", md5=_md5(site["celeba_corrupt"]))
    with pytest.raises(DataError, match=r"CelebA image img_align_celeba/182639\.jpg cannot be decoded"):
        acquire_dataset("faces", broken, data_root, project)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in data_root.iterdir()) == ["faces"]
    assert _hidden(project) == []


def test_storage_failing_midway_leaves_nothing(monkeypatch: pytest.MonkeyPatch, project: Path) -> None:
    def half_written(path: Path, array: np.ndarray, **_: object) -> str:
        path.write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(writer, "save_array", half_written)
    data_root = project / "data" / "datasets"
    with pytest.raises(OSError, match="disk full"):
        acquire_dataset("blobs", {"kind": "blobs", "source": "procedural", "grid": 4}, data_root, project)
    assert list(data_root.iterdir()) == []


def test_stale_scratch_from_a_killed_run_is_removed(project: Path) -> None:
    data_root = project / "data" / "datasets"
    stale = data_root / ".blobs.scratch-0123456789ab"
    stale.mkdir(parents=True)
    (stale / "images.npy").write_bytes(b"x" * 10)
    acquire_dataset("blobs", {"kind": "blobs", "source": "procedural", "grid": 2}, data_root, project)
    assert sorted(p.name for p in data_root.iterdir()) == ["blobs"]


def test_path_outside_project_fails_naming_the_key(site, project: Path) -> None:
    outside = site["dsprites"]  # lives in another temp directory
    spec = {"kind": "dsprites", "source": "path", "path": str(outside), "expect_full": False}
    with pytest.raises(
        ConfigError, match=rf"data\.datasets\.d\.path '{outside}' resolves to .* outside the project root {project}"
    ):
        acquire_dataset("d", spec, project / "data" / "datasets", project)
    assert not (project / "data" / "datasets" / "d").exists()
    data = load_dataset(
        acquire_dataset("d", dict(spec, allow_outside_project=True), project / "data" / "datasets", project)
    )
    assert data.num_images == 48


def test_data_root_outside_project_fails(tmp_path: Path, project: Path) -> None:
    with pytest.raises(ConfigError, match=rf"data root '{tmp_path / 'elsewhere'}' .* outside the project root"):
        acquire_dataset("blobs", {"kind": "blobs", "source": "procedural"}, tmp_path / "elsewhere", project)
    assert not (tmp_path / "elsewhere").exists()


def test_unknown_dataset_name_lists_the_known_ones(project: Path) -> None:
    datasets = {
        "dsprites": {"kind": "dsprites", "source": "procedural"},
        "blobs": {"kind": "blobs", "source": "procedural"},
    }
    with pytest.raises(ConfigError, match=r"data\.datasets has no dataset 'mnist'; defined: blobs, dsprites"):
        acquire_named("mnist", datasets, project / "d", project)
    out = acquire_named("blobs", datasets, project / "d", project)
    assert json.loads((out / "manifest.json").read_text())["kind"] == "blobs"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"kind": "svhn", "source": "official"},
            r"data\.datasets\.x\.kind must be one of dsprites, shapes3d, mnist, emnist, celeba, blobs; got 'svhn'",
        ),
        ({"source": "official"}, r"data\.datasets\.x\.kind is missing"),
        ({"kind": "mnist"}, r"data\.datasets\.x\.source is missing; kind mnist takes one of official, path"),
        (
            {"kind": "blobs", "source": "official"},
            r"data\.datasets\.x\.source must be one of procedural; got 'official'",
        ),
        (
            {"kind": "dsprites", "source": "procedural", "colour": 1},
            r"unknown key\(s\) data\.datasets\.x\.colour for kind dsprites",
        ),
        (
            {"kind": "dsprites", "source": "procedural", "expect_full": False},
            r"unknown key\(s\) data\.datasets\.x\.expect_full",
        ),
        ({"kind": "dsprites", "source": "official", "path": "a.npz"}, r"unknown key\(s\) data\.datasets\.x\.path"),
        (
            {"kind": "mnist", "source": "official", "split": "valid"},
            r"data\.datasets\.x\.split must be one of official, train, test; got 'valid'",
        ),
        ({"kind": "mnist", "source": "official", "limit": 0}, r"data\.datasets\.x\.limit must be >= 1, got 0"),
        (
            {"kind": "mnist", "source": "official", "md5": "a" * 32},
            r"data\.datasets\.x\.md5 must map each MNIST file name",
        ),
        (
            {"kind": "shapes3d", "source": "official", "sha256": "a" * 64, "md5": "b" * 32},
            r"give either sha256 or md5, not both",
        ),
        (
            {"kind": "shapes3d", "source": "official", "sha256": "xyz"},
            r"data\.datasets\.x\.sha256: sha256 checksum must be 64 hex digits",
        ),
        ({"kind": "shapes3d", "source": "path"}, r"data\.datasets\.x\.path is required for source path"),
        (
            {"kind": "shapes3d", "source": "official", "url": "ftp://host/f.h5"},
            r"data\.datasets\.x\.url must be an http, https or file URL",
        ),
        (
            {"kind": "shapes3d", "source": "official", "expect_full": "no"},
            r"data\.datasets\.x\.expect_full must be true or false, got 'no'",
        ),
        (
            {"kind": "blobs", "source": "procedural", "grid": [4, 4, 4]},
            r"data\.datasets\.x\.grid must be an integer or a pair",
        ),
        ({"kind": "blobs", "source": "procedural", "sigma": -1}, r"data\.datasets\.x\.sigma must be > 0.0, got -1"),
        (
            {"kind": "celeba", "source": "official", "image_size": 4},
            r"data\.datasets\.x\.image_size must be >= 8, got 4",
        ),
        (
            {"kind": "emnist", "source": "official", "subset": "greek"},
            r"data\.datasets\.x\.subset must be one of byclass",
        ),
        (
            {"kind": "emnist", "source": "official", "subset": "letters", "classes": [0, 1]},
            r"data\.datasets\.x\.classes: \[0\] are not label values of this dataset \(1\.\.26\)",
        ),
        (
            {"kind": "mnist", "source": "official", "classes": [3, 3]},
            r"data\.datasets\.x\.classes lists a label twice: \[3, 3\]",
        ),
        (
            {"kind": "mnist", "source": "official", "classes": []},
            r"data\.datasets\.x\.classes must be a non-empty list of label values, got \[\]",
        ),
        (
            {"kind": "mnist", "source": "official", "classes": [True]},
            r"data\.datasets\.x\.classes\[0\] must be an integer",
        ),
        (
            {"kind": "celeba", "source": "official", "classes": [1]},
            r"unknown key\(s\) data\.datasets\.x\.classes for kind celeba",
        ),
    ],
)
def test_bad_specs_name_the_params_key(spec: dict, message: str, project: Path) -> None:
    with pytest.raises(ConfigError, match=message):
        acquire_dataset("x", spec, project / "d", project)
    assert not (project / "d").exists()  # rejected before anything is written


def test_bad_dataset_names_are_rejected(project: Path) -> None:
    for name in ("../escape", "a/b", "", ".hidden"):
        with pytest.raises(ConfigError, match="must start with a letter or digit"):
            parse_spec(name, {"kind": "blobs", "source": "procedural"})


def test_spec_defaults_are_filled_in() -> None:
    spec = parse_spec("e", {"kind": "emnist", "source": "official"})
    assert dict(spec.options) == {"limit": None, "split": "official", "subset": "balanced", "split_seed": 0}
    one_file = parse_spec("e", {"kind": "emnist", "source": "official", "split": "test"})
    assert (one_file.options["test_fraction"], one_file.options["split_seed"]) == (0.1, 0)
    blobs = parse_spec("b", {"kind": "blobs", "source": "procedural", "test_fraction": 0, "split_seed": 3})
    assert (blobs.options["test_fraction"], blobs.options["split_seed"]) == (0.0, 3)
    letters = parse_spec("e", {"kind": "emnist", "source": "official", "subset": "letters", "classes": [4, 1, 3, 2]})
    assert letters.options["classes"] == (1, 2, 3, 4) and letters.as_dict()["classes"] == [1, 2, 3, 4]
    assert (
        parse_spec("m", {"kind": "mnist", "source": "official", "md5": dict.fromkeys(mnist.MNIST_MD5, "a" * 32)})
        .file_checksums["t10k-images-idx3-ubyte.gz"]
        .value
        == "a" * 32
    )


def test_procedural_dsprites_dispatches_to_the_renderer(monkeypatch: pytest.MonkeyPatch, project: Path) -> None:
    # The full render takes ~45 s; here a stand-in records the call and writes a small dataset.
    from betavae.data import dsprites

    calls: list[Path] = []

    def small_grid(out_dir: Path, *, test_rows: np.ndarray, split: dict) -> Path:
        calls.append(Path(out_dir))
        # The split is drawn for the full grid's 737,280 rows: a seeded tenth.
        assert np.array_equal(test_rows, seeded_test_rows(dsprites.NUM_IMAGES, 0.1, 0))
        assert split == {"rule": "seeded", "test_fraction": 0.1, "seed": 0}
        arrays = samples.dsprites_arrays()
        return storage.write_dataset(
            out_dir,
            name=Path(out_dir).name,
            kind="dsprites",
            images=arrays["imgs"][..., None],
            factor_names=dsprites.FACTOR_NAMES,
            factor_sizes=(3, 2, 2, 2, 2),
            factor_values=[v[:s] for v, s in zip(dsprites.FACTOR_VALUES, (3, 2, 2, 2, 2), strict=True)],
            factor_classes=arrays["latents_classes"][:, 1:],
            binary=True,
            source="procedural",
        )

    monkeypatch.setattr(dsprites, "write_procedural_dsprites", small_grid)
    data_root = project / "data" / "datasets"
    out = acquire_dataset("dsprites", {"kind": "dsprites", "source": "procedural"}, data_root, project)
    assert calls == [data_root.resolve() / "dsprites"] and out == calls[0]
    assert load_dataset(out).num_images == 48


def test_path_source_of_the_wrong_type_is_named(site, project: Path) -> None:
    (project / "raw" / "mnist").mkdir(parents=True)
    (project / "raw" / "file.bin").write_bytes(b"x")
    with pytest.raises(
        ConfigError, match=r"data\.datasets\.s\.path must name a file for kind shapes3d, got the directory"
    ):
        acquire_dataset("s", {"kind": "shapes3d", "source": "path", "path": "raw/mnist"}, project / "d", project)
    with pytest.raises(
        ConfigError, match=r"data\.datasets\.m\.path must be a directory holding train-images-idx3-ubyte\.gz"
    ):
        acquire_dataset("m", {"kind": "mnist", "source": "path", "path": "raw/file.bin"}, project / "d", project)
    with pytest.raises(DataError, match=r"MNIST directory .*raw/mnist has no train-images-idx3-ubyte\.gz"):
        acquire_dataset("m", {"kind": "mnist", "source": "path", "path": "raw/mnist"}, project / "d", project)
    samples.write_mnist_dir(project / "raw" / "mnist", "train", 12, compress=False)
    with pytest.raises(DataError, match=r"MNIST directory .*raw/mnist has no t10k-images-idx3-ubyte\.gz"):
        acquire_dataset("m", {"kind": "mnist", "source": "path", "path": "raw/mnist"}, project / "d", project)
    spec = {"kind": "mnist", "source": "path", "path": "raw/mnist", "split": "train"}
    data = load_dataset(acquire_dataset("m", spec, project / "d", project))
    assert data.num_images == 12 and data.factor_classes[:, 0].tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
