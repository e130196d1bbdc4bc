"""Format parsers on small files written in each official format: good files import exactly, broken ones
fail with a message naming what is wrong."""

from __future__ import annotations

import gzip
import json
import math
import zipfile
from pathlib import Path

import numpy as np
import pytest

from betavae.data import dataset_iou
from betavae.data.ground_truth import grid_strides
from betavae.data.importers import (
    blobs,
    celeba,
    dsprites_official,
    mnist,
    shapes3d,
)
from betavae.data.importers.base import check_complete_grid, classes_from_values
from betavae.errors import ConfigError, DataError
from tests.helpers import importer_samples as samples

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _explode() -> None:
    raise RuntimeError("the metadata pickle was unpickled")


class _Booby:
    """Unpickling this object calls _explode: proof that the importer never unpickles metadata."""

    def __reduce__(self):  # noqa: ANN204
        return (_explode, ())


# --- shared factor-grid functions -------------------------------------------------------------------------------


def test_grid_strides_and_classes_are_row_major() -> None:
    assert grid_strides((3, 6, 40, 32, 32)).tolist() == [245760, 40960, 1024, 32, 1]
    assert samples.grid_classes((2, 3)).tolist() == [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]]


def test_check_complete_grid_names_the_first_row_out_of_place() -> None:
    classes = samples.grid_classes((2, 3))
    check_complete_grid(classes, (2, 3), "t")
    swapped = classes[[0, 2, 1, 3, 4, 5]]
    with pytest.raises(
        DataError,
        match=r"t: rows are not the factor grid \(2, 3\) in row-major order "
        r"\(row 1 holds classes \[0, 2\], 2 rows out of place\)",
    ):
        check_complete_grid(swapped, (2, 3), "t")
    with pytest.raises(DataError, match=r"5 rows do not form the complete factor grid \(2, 3\) \(6 rows\)"):
        check_complete_grid(classes[:5], (2, 3), "t")


def test_classes_from_values_rounds_float_noise() -> None:
    values = np.array([[0.1, 2.0], [0.1 + 1e-12, 1.0], [0.3, 2.0]])
    classes, uniques = classes_from_values(values, ("a", "b"), "t")
    assert classes.tolist() == [[0, 1], [0, 0], [1, 1]]
    assert uniques[0].tolist() == [0.1, 0.3] and uniques[1].tolist() == [1.0, 2.0]


# --- dSprites ------------------------------------------------------------------------------------------


def _dsprites_file(tmp_path: Path, **changes: np.ndarray | None) -> Path:
    arrays = samples.dsprites_arrays()
    for key, value in changes.items():
        if value is None:
            del arrays[key]
        else:
            arrays[key] = value
    return samples.save_npz(tmp_path / "dsprites.npz", arrays)


def test_dsprites_reduced_grid_imports_exactly(tmp_path: Path) -> None:
    arrays = samples.dsprites_arrays((3, 2, 2, 2, 2))
    arrays["metadata"] = np.array(_Booby(), dtype=object)
    path = samples.save_npz(tmp_path / "d.npz", arrays)
    data = dsprites_official.read_dsprites_npz(path, expect_full=False)
    assert data.factor_names == ("shape", "scale", "orientation", "posX", "posY")
    assert data.factor_sizes == (3, 2, 2, 2, 2)
    assert data.images.shape == (48, 64, 64, 1) and data.binary and data.complete_grid
    np.testing.assert_array_equal(data.images[..., 0], arrays["imgs"])
    np.testing.assert_array_equal(data.factor_classes, arrays["latents_classes"][:, 1:])
    assert data.factor_values[0].tolist() == [1.0, 2.0, 3.0]
    np.testing.assert_allclose(data.factor_values[1], [0.5, 0.6])
    np.testing.assert_allclose(data.factor_values[2], [0.0, 2 * math.pi / 39])
    np.testing.assert_allclose(data.factor_values[3], [0.0, 1 / 31])
    # Image 47 is the last combination: shape 2, scale 1, orientation 1, posX 1, posY 1.
    assert data.factor_classes[47].tolist() == [2, 1, 1, 1, 1]
    assert int(data.images[47].sum()) == 6 * 6 + 1


def test_dsprites_default_requires_the_full_official_shape(tmp_path: Path) -> None:
    path = _dsprites_file(tmp_path)
    with pytest.raises(DataError, match=r"key 'imgs' has shape \(48, 64, 64\), expected \(737280, 64, 64\)"):
        dsprites_official.read_dsprites_npz(path)


def test_dsprites_missing_key_is_named(tmp_path: Path) -> None:
    path = _dsprites_file(tmp_path, latents_classes=None)
    with pytest.raises(DataError, match=r"is missing key 'latents_classes'"):
        dsprites_official.read_dsprites_npz(path, expect_full=False)


def test_real_fixture_without_latents_classes_is_rejected() -> None:
    # The 12 real images carry imgs and latents_values only.
    with pytest.raises(DataError, match=r"dsprites_real_12\.npz is missing key 'latents_classes'"):
        dsprites_official.read_dsprites_npz(FIXTURES / "dsprites_real_12.npz", expect_full=False)


def test_dsprites_wrong_dtype_is_named(tmp_path: Path) -> None:
    imgs = samples.dsprites_arrays()["imgs"].astype(np.float32)
    path = _dsprites_file(tmp_path, imgs=imgs)
    with pytest.raises(DataError, match=r"key 'imgs' has dtype float32, expected uint8"):
        dsprites_official.read_dsprites_npz(path, expect_full=False)
    path = _dsprites_file(tmp_path, latents_classes=samples.dsprites_arrays()["latents_classes"].astype(np.float64))
    with pytest.raises(DataError, match=r"key 'latents_classes' has dtype float64, expected integer"):
        dsprites_official.read_dsprites_npz(path, expect_full=False)


def test_dsprites_wrong_shapes_are_named(tmp_path: Path) -> None:
    path = _dsprites_file(tmp_path, imgs=np.zeros((48, 32, 32), dtype=np.uint8))
    with pytest.raises(DataError, match=r"key 'imgs' has shape \(48, 32, 32\), expected \(N, 64, 64\)"):
        dsprites_official.read_dsprites_npz(path, expect_full=False)
    path = _dsprites_file(tmp_path, latents_values=np.zeros((48, 5)))
    with pytest.raises(DataError, match=r"key 'latents_values' has shape \(48, 5\), expected \(48, 6\)"):
        dsprites_official.read_dsprites_npz(path, expect_full=False)


def test_dsprites_content_errors(tmp_path: Path) -> None:
    arrays = samples.dsprites_arrays()
    shuffled = arrays["latents_classes"][::-1].copy()
    with pytest.raises(DataError, match="not the factor grid"):
        dsprites_official.read_dsprites_npz(_dsprites_file(tmp_path, latents_classes=shuffled), expect_full=False)
    bright = arrays["imgs"].copy()
    bright[5, 0, 0] = 255
    with pytest.raises(DataError, match=r"holds pixel value 255, expected \{0, 1\}"):
        dsprites_official.read_dsprites_npz(_dsprites_file(tmp_path, imgs=bright), expect_full=False)
    values = arrays["latents_values"].copy()
    values[3, 2] = 0.77
    with pytest.raises(DataError, match="latents_values of factor 'scale' differ within one class"):
        dsprites_official.read_dsprites_npz(_dsprites_file(tmp_path, latents_values=values), expect_full=False)
    coloured = arrays["latents_classes"].copy()
    coloured[0, 0] = 1
    with pytest.raises(DataError, match="color factor"):
        dsprites_official.read_dsprites_npz(_dsprites_file(tmp_path, latents_classes=coloured), expect_full=False)


def test_dsprites_not_an_npz(tmp_path: Path) -> None:
    path = tmp_path / "junk.npz"
    path.write_bytes(b"not a zip at all")
    with pytest.raises(DataError, match=r"junk\.npz is not a readable \.npz archive"):
        dsprites_official.read_dsprites_npz(path)


# --- 3dshapes ------------------------------------------------------------------------------------------


def test_shapes3d_reduced_grid_imports_exactly_in_chunks(tmp_path: Path) -> None:
    arrays = samples.shapes3d_arrays((2, 2, 2, 2, 2, 3))
    path = samples.save_h5(tmp_path / "3dshapes.h5", arrays)
    data = shapes3d.read_shapes3d_h5(path, expect_full=False, chunk_size=5, scratch=tmp_path / "scratch.npy")
    assert isinstance(data.images, np.memmap)
    assert data.factor_sizes == (2, 2, 2, 2, 2, 3) and data.num_images == 96 and not data.binary
    np.testing.assert_array_equal(data.images, arrays["images"])
    np.testing.assert_array_equal(data.factor_classes, samples.grid_classes((2, 2, 2, 2, 2, 3)))
    np.testing.assert_allclose(data.factor_values[3], [0.75, 0.75 + 0.5 / 7])
    np.testing.assert_allclose(data.factor_values[5], [-30.0, -30.0 + 60 / 14, -30.0 + 120 / 14])
    # Image 0: wall hue 0 is pure red, object (hue 0) too; image 96 - 1 has wall hue 0.1.
    assert data.images[0, 0, 0].tolist() == [255, 0, 0]
    assert data.images[95, 0, 0].tolist() == [255, 153, 0]


def test_shapes3d_default_requires_the_full_official_shape(tmp_path: Path) -> None:
    path = samples.save_h5(tmp_path / "s.h5", samples.shapes3d_arrays())
    with pytest.raises(
        DataError, match=r"dataset 'images' has shape \(96, 64, 64, 3\), expected \(480000, 64, 64, 3\)"
    ):
        shapes3d.read_shapes3d_h5(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"labels": None}, r"is missing dataset 'labels'"),
        (
            {"images": np.zeros((96, 64, 64, 3), dtype=np.float32)},
            r"dataset 'images' has dtype float32, expected uint8",
        ),
        (
            {"images": np.zeros((96, 32, 32, 3), dtype=np.uint8)},
            r"dataset 'images' has shape \(96, 32, 32, 3\), expected \(N, 64, 64, 3\)",
        ),
        ({"labels": np.zeros((96, 6), dtype=np.int32)}, r"dataset 'labels' has dtype int32, expected float64"),
        ({"labels": np.zeros((95, 6))}, r"dataset 'labels' has shape \(95, 6\), expected \(96, 6\)"),
    ],
)
def test_shapes3d_broken_files_are_named(tmp_path: Path, change: dict, message: str) -> None:
    arrays = samples.shapes3d_arrays()
    for key, value in change.items():
        if value is None:
            del arrays[key]
        else:
            arrays[key] = value
    path = samples.save_h5(tmp_path / "s.h5", arrays)
    with pytest.raises(DataError, match=message):
        shapes3d.read_shapes3d_h5(path, expect_full=False)


def test_shapes3d_shuffled_labels_are_not_a_grid(tmp_path: Path) -> None:
    arrays = samples.shapes3d_arrays()
    arrays["labels"] = arrays["labels"][np.roll(np.arange(96), 1)]
    path = samples.save_h5(tmp_path / "s.h5", arrays)
    with pytest.raises(DataError, match="labels: rows are not the factor grid"):
        shapes3d.read_shapes3d_h5(path, expect_full=False)


def test_shapes3d_not_hdf5(tmp_path: Path) -> None:
    path = tmp_path / "s.h5"
    path.write_bytes(b"\x00" * 100)
    with pytest.raises(DataError, match="is not a readable HDF5 file"):
        shapes3d.read_shapes3d_h5(path)


# --- MNIST / EMNIST ------------------------------------------------------------------------------------


def test_idx_header_bytes_are_the_published_layout() -> None:
    raw = samples.idx_bytes(np.zeros((2, 28, 28), dtype=np.uint8), compress=False)
    assert raw[:16].hex() == "00000803000000020000001c0000001c"
    assert int.from_bytes(raw[:4], "big") == 2051
    labels = samples.idx_bytes(np.array([7, 1], dtype=np.uint8), compress=False)
    assert labels.hex() == "00000801000000020701"


@pytest.mark.parametrize("compress", [True, False])
def test_mnist_pair_imports_labels_as_the_factor(tmp_path: Path, compress: bool) -> None:
    images_path, labels_path = samples.write_mnist_dir(tmp_path, "test", 30, compress=compress)
    assert images_path.name == ("t10k-images-idx3-ubyte.gz" if compress else "t10k-images-idx3-ubyte")
    data = mnist.read_mnist(images_path, labels_path, split="test")
    expected_images, expected_labels = samples.mnist_arrays(30)
    np.testing.assert_array_equal(data.images[..., 0], expected_images)
    assert data.factor_names == ("label",) and data.factor_sizes == (10,)
    assert data.factor_classes[:, 0].tolist() == expected_labels.tolist()
    assert data.factor_classes[:12, 0].tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    assert not data.complete_grid and not data.binary
    limited = mnist.read_mnist(images_path, labels_path, limit=7)
    assert limited.num_images == 7


def test_mnist_swapped_files_fail_on_magic(tmp_path: Path) -> None:
    images_path, labels_path = samples.write_mnist_dir(tmp_path, "train", 10)
    with pytest.raises(DataError, match=r"IDX file train-labels-idx1-ubyte\.gz has magic number 2049, expected 2051"):
        mnist.read_mnist(labels_path, images_path)


def test_mnist_truncated_and_mismatched_files(tmp_path: Path) -> None:
    images_path, labels_path = samples.write_mnist_dir(tmp_path, "train", 10)
    raw = gzip.decompress(images_path.read_bytes())
    images_path.write_bytes(gzip.compress(raw[:-100]))
    with pytest.raises(DataError, match=r"holds 7740 bytes of data, but its header \(10, 28, 28\) needs 7840"):
        mnist.read_mnist(images_path, labels_path)
    samples.write_mnist_dir(tmp_path, "train", 10)
    samples.write_idx(labels_path, np.zeros(9, dtype=np.uint8))
    with pytest.raises(DataError, match=r"holds 10 images but train-labels-idx1-ubyte\.gz holds 9 labels"):
        mnist.read_mnist(images_path, labels_path)
    samples.write_idx(labels_path, np.full(10, 11, dtype=np.uint8))
    with pytest.raises(DataError, match=r"label 11 at index 0 is not one of 0\.\.9"):
        mnist.read_mnist(images_path, labels_path)
    with pytest.raises(ConfigError, match="split must be one of"):
        mnist.read_mnist(images_path, labels_path, split="valid")


def test_emnist_letters_from_zip_are_transposed_back(tmp_path: Path) -> None:
    path = samples.write_emnist_zip(tmp_path / "gzip.zip", "letters", "train", 52)
    data = mnist.read_emnist(path, subset="letters", split="train")
    expected_images, expected_labels = samples.mnist_arrays(52, num_classes=26, first_label=1)
    np.testing.assert_array_equal(data.images[..., 0], expected_images)
    assert data.factor_sizes == (26,)
    assert data.factor_values[0][[0, 25]].tolist() == [1.0, 26.0]
    assert data.factor_classes[:, 0].tolist() == (expected_labels.astype(int) - 1).tolist()
    with pytest.raises(DataError, match=r"has no member emnist-digits-train-images-idx3-ubyte\.gz"):
        mnist.read_emnist(path, subset="digits")
    with pytest.raises(ConfigError, match="EMNIST subset must be one of"):
        mnist.read_emnist(path, subset="greek")


def test_emnist_letters_a_to_d_keep_only_those_classes(tmp_path: Path) -> None:
    """Levy et al. 2020 Sec. 4.1 train on the letters A-D (labels 1-4 of `letters`) only."""
    path = samples.write_emnist_zip(tmp_path / "gzip.zip", "letters", "train", 52)
    data = mnist.read_emnist(path, subset="letters", split="train", classes=(1, 2, 3, 4))
    all_images, all_labels = samples.mnist_arrays(52, num_classes=26, first_label=1)
    chosen = np.isin(all_labels, [1, 2, 3, 4])
    np.testing.assert_array_equal(data.images[..., 0], all_images[chosen])
    assert data.num_images == 8 and data.factor_sizes == (4,)
    assert data.factor_values[0].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert data.factor_classes[:, 0].tolist() == (all_labels[chosen].astype(int) - 1).tolist()
    assert data.extra["classes"] == [1, 2, 3, 4]
    assert mnist.read_emnist(path, subset="letters", classes=(2, 4), limit=3).factor_classes[:, 0].tolist() == [0, 1, 0]
    images_path, labels_path = samples.write_mnist_dir(tmp_path / "mnist", "train", 5)  # digits 0-4
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte\.gz holds no image of the classes \[7\]"):
        mnist.read_mnist(images_path, labels_path, classes=(7,))


def test_emnist_from_directory(tmp_path: Path) -> None:
    archive = samples.write_emnist_zip(tmp_path / "gzip.zip", "digits", "test", 20)
    with zipfile.ZipFile(archive) as z:
        z.extractall(tmp_path / "unzipped")
    data = mnist.read_emnist(tmp_path / "unzipped", subset="digits", split="test", limit=5)
    assert data.num_images == 5 and data.factor_classes[:, 0].tolist() == [0, 1, 2, 3, 4]


# --- CelebA --------------------------------------------------------------------------------------------


def test_celeba_zip_is_centre_cropped_and_resized(tmp_path: Path) -> None:
    path = samples.write_celeba_zip(tmp_path / "img_align_celeba.zip", n=5)
    data = celeba.read_celeba(path, crop=140, size=64)
    assert data.images.shape == (5, 64, 64, 3) and data.factor_names == () and data.factor_classes.shape == (5, 0)
    for i in range(5):
        centre = samples.celeba_image(i)[109, 89].astype(int)  # inside the flat centre square
        assert centre.tolist() == [40 + 10 * i, 200 - 5 * i, 90]
        # The crop removes the white border; JPEG blocks straddling it bleed a few pixels inwards.
        assert np.abs(data.images[i, 6:58, 6:58].astype(int) - centre).max() <= 4
        assert np.abs(data.images[i].astype(int) - 250).max(axis=-1).min() > 100  # no white border pixel survives
    assert data.extra["first_file"] == "img_align_celeba/000001.jpg"


def test_celeba_wider_crop_keeps_the_border(tmp_path: Path) -> None:
    path = samples.write_celeba_zip(tmp_path / "c.zip", n=1)
    data = celeba.read_celeba(path, crop=178, size=64)
    assert data.images[0, 0, 0].min() >= 235  # corner comes from the white border
    with pytest.raises(DataError, match=r"000001\.jpg is 178x218 px, smaller than the crop of 179 px"):
        celeba.read_celeba(path, crop=179)


def test_celeba_directory_and_limit(tmp_path: Path) -> None:
    from PIL import Image

    folder = tmp_path / "img_align_celeba"
    folder.mkdir()
    for i in (2, 0, 1):
        Image.fromarray(samples.celeba_image(i)).save(folder / f"{i + 1:06d}.jpg", quality=95)
    data = celeba.read_celeba(folder, limit=2)
    assert data.num_images == 2
    assert abs(int(data.images[1, 32, 32, 0]) - 50) <= 12  # sorted: 000002.jpg holds image 1


def test_celeba_corrupt_image_is_named(tmp_path: Path) -> None:
    path = samples.write_celeba_zip(tmp_path / "c.zip", n=4, corrupt_index=2)
    with pytest.raises(DataError, match=r"CelebA image img_align_celeba/000003\.jpg cannot be decoded"):
        celeba.read_celeba(path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="holds no .jpg/.png images"):
        celeba.read_celeba(empty)


def test_celeba_official_split_is_the_published_test_partition(tmp_path: Path) -> None:
    # list_eval_partition.txt: 000001-162770 train, 162771-182637 validation, 182638-202599 test.
    path = samples.write_celeba_zip(tmp_path / "c.zip", n=4, first=182636)
    data = celeba.read_celeba(path, split="official")
    assert data.test_rows.tolist() == [2, 3] and data.extra["split"] == "official"
    assert celeba.read_celeba(path).test_rows is None, "split all: the caller holds a fraction out"
    early = samples.write_celeba_zip(tmp_path / "early.zip", n=3)
    with pytest.raises(DataError, match=r"hold none of the official test partition \(from 182638\.jpg\)"):
        celeba.read_celeba(early, split="official")
    late = samples.write_celeba_zip(tmp_path / "late.zip", n=2, first=190000)
    with pytest.raises(DataError, match="every CelebA image read .* is a test image"):
        celeba.read_celeba(late, split="official")
    with pytest.raises(ConfigError, match="CelebA split must be one of"):
        celeba.read_celeba(path, split="test")


# --- blobs ---------------------------------------------------------------------------------------------


def test_blobs_known_pixels_and_grid() -> None:
    data = blobs.render_blobs(grid=(32, 32), image_size=64, sigma=3.0)
    assert data.images.shape == (1024, 64, 64, 1) and data.complete_grid
    assert data.factor_sizes == (32, 32)
    first = data.images[0, :, :, 0]
    # Margin 2 * sigma = 6: the first centre is exactly pixel (6, 6).
    assert first[6, 6] == 255
    assert first[6, 7] == 241  # round(255 * exp(-1 / 18))
    assert first[0, 0] == 5  # squared distance 72: round(255 * exp(-4)) = round(4.67)
    last_x = data.images[31 * 32, :, :, 0]  # posX class 31, posY class 0
    assert np.unravel_index(np.argmax(last_x), last_x.shape) == (6, 57)
    np.testing.assert_array_equal(data.factor_classes[31 * 32 + 5], [31, 5])
    assert data.factor_values[0][[0, 31]].tolist() == [0.0, 1.0]


def test_blobs_rejects_bad_parameters() -> None:
    with pytest.raises(ConfigError, match=r"grid must have >= 2 positions per axis, got \(1, 4\)"):
        blobs.render_blobs(grid=(1, 4))
    with pytest.raises(ConfigError, match="sigma must be > 0"):
        blobs.render_blobs(sigma=0.0)


# --- procedural vs official agreement report ----------------------------------------------------------


def test_iou_of_packed_rows_known_values() -> None:
    a = np.packbits(np.array([[1, 1, 0, 0, 0, 0, 0, 0, 0, 0], [0] * 10, [1] * 10], dtype=np.uint8), axis=1)
    b = np.packbits(np.array([[1, 0, 1, 0, 0, 0, 0, 0, 0, 0], [0] * 10, [0] * 10], dtype=np.uint8), axis=1)
    np.testing.assert_allclose(dataset_iou.iou_packed(a, b), [1 / 3, 1.0, 0.0])


def _store(path: Path, images: np.ndarray, classes: np.ndarray, values: tuple | None = None, names=None) -> Path:
    from betavae.data.storage import write_dataset

    arrays = samples.dsprites_arrays()
    sizes = (3, 2, 2, 2, 2)
    if values is None:
        values = tuple(np.unique(arrays["latents_values"][:, k + 1]) for k in range(5))
    return write_dataset(
        path,
        name=path.name,
        kind="dsprites",
        images=images[..., None],
        factor_names=names or dsprites_official.FACTOR_NAMES,
        factor_sizes=sizes,
        factor_values=values,
        factor_classes=classes,
        binary=True,
        source="test",
    )


def test_agreement_report_finds_the_altered_image(tmp_path: Path) -> None:
    arrays = samples.dsprites_arrays()
    imgs, classes = arrays["imgs"], arrays["latents_classes"][:, 1:]
    candidate = _store(tmp_path / "procedural", imgs, classes)
    rows = [47, 0, 5]
    altered = imgs[rows].copy()
    # Row 5 (scale class 0) is a 4 x 4 square plus one marker pixel: clear 4 square pixels -> IoU 13 / 17.
    assert int(altered[2].sum()) == 17
    top, left = np.argwhere(altered[2][1:] == 1)[0] + (1, 0)
    altered[2, top, left : left + 4] = 0
    reference = _store(tmp_path / "official", altered, classes[rows])
    report = dataset_iou.compare_datasets(candidate, reference, num_worst=2)
    assert report["num_compared"] == 3
    assert report["iou"]["min"] == pytest.approx(13 / 17)
    assert report["iou"]["mean"] == pytest.approx((2 + 13 / 17) / 3)
    assert report["exact_match_fraction"] == pytest.approx(2 / 3)
    assert report["worst"][0] == {
        "index": 2,
        "iou": pytest.approx(13 / 17),
        "candidate_index": 5,
        "classes": {"shape": 0, "scale": 0, "orientation": 1, "posX": 0, "posY": 1},
    }
    assert report["worst"][1]["iou"] == 1.0 and len(report["worst"]) == 2
    assert report["mean_iou_by_factor_class"]["shape"] == {"0": pytest.approx((1 + 13 / 17) / 2), "2": 1.0}
    assert report["factor_value_mismatches"] == []
    out = dataset_iou.write_report(report, tmp_path / "reports" / "agreement.json")
    assert json.loads(out.read_text())["worst"][0]["candidate_index"] == 5
    from betavae.cli import main

    assert main(["compare", str(candidate), str(reference), "--out", str(tmp_path / "cli.json"), "--worst", "1"]) == 0
    assert json.loads((tmp_path / "cli.json").read_text())["num_compared"] == 3
    assert len(json.loads((tmp_path / "cli.json").read_text())["worst"]) == 1


def test_agreement_report_flags_value_and_name_mismatches(tmp_path: Path) -> None:
    arrays = samples.dsprites_arrays()
    imgs, classes = arrays["imgs"], arrays["latents_classes"][:, 1:]
    candidate = _store(tmp_path / "a", imgs, classes)
    values = [np.unique(arrays["latents_values"][:, k + 1]) for k in range(5)]
    values[1] = np.array([0.5, 0.65])
    shifted = _store(tmp_path / "b", imgs, classes, values=tuple(values))
    report = dataset_iou.compare_datasets(candidate, shifted)
    assert report["factor_value_mismatches"] == ["factor 'scale' class 1: reference 0.65, candidate 0.6"]
    renamed = _store(tmp_path / "c", imgs, classes, names=("shape", "size", "orientation", "posX", "posY"))
    with pytest.raises(DataError, match="factor names differ"):
        dataset_iou.compare_datasets(candidate, renamed)
    partial = _store(tmp_path / "d", imgs[:10], classes[:10])
    with pytest.raises(DataError, match=r"has no image with factor classes \[0, 1, 0, 1, 0\]"):
        dataset_iou.compare_datasets(partial, candidate)


def test_agreement_of_the_renderer_with_the_twelve_real_images(tmp_path: Path) -> None:
    """Integration: the procedural renderer against the only real dSprites images available offline."""
    from betavae.data import dsprites
    from betavae.data.storage import write_dataset

    real = np.load(FIXTURES / "dsprites_real_12.npz")
    lat = real["latents_values"]
    classes = np.rint(
        np.stack(
            [lat[:, 1] - 1, (lat[:, 2] - 0.5) / 0.1, lat[:, 3] / (2 * np.pi / 39), lat[:, 4] * 31, lat[:, 5] * 31],
            axis=1,
        )
    ).astype(np.int64)

    def store(path: Path, images: np.ndarray) -> Path:
        return write_dataset(
            path,
            name=path.name,
            kind="dsprites",
            images=images.reshape(-1, 64, 64, 1),
            factor_names=dsprites.FACTOR_NAMES,
            factor_sizes=dsprites.FACTOR_SIZES,
            factor_values=dsprites.FACTOR_VALUES,
            factor_classes=classes,
            binary=True,
            source="test",
        )

    candidate = store(tmp_path / "procedural", dsprites.render(classes))
    reference = store(tmp_path / "official", real["imgs"])
    report = dataset_iou.compare_datasets(candidate, reference, num_worst=3)
    assert report["num_compared"] == 12
    assert report["factor_value_mismatches"] == []
    # The renderer was fitted to these images: squares and ellipses match exactly, hearts nearly.
    assert report["mean_iou_by_factor_class"]["shape"]["0"] == 1.0
    assert report["mean_iou_by_factor_class"]["shape"]["1"] == 1.0
    assert report["iou"]["min"] > 0.9
    assert all(entry["classes"]["shape"] == 2 for entry in report["worst"] if entry["iou"] < 1.0)
