"""The one reader of user images (`betavae pull --images`, served requests): refuse, never guess."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from betavae.errors import DataError
from betavae.serving.images import check_images, check_output_path, read_npy
from tests.helpers.damage import damage
from tests.helpers.untrusted import Exploit

SHAPE = (8, 8, 1)


def saved(tmp_path: Path, array: np.ndarray, name: str = "x.npy") -> Path:
    path = tmp_path / name
    np.save(path, array)
    return path


def test_reads_a_plain_uint8_array(tmp_path):
    images = (np.arange(2 * 64).reshape(2, 8, 8) % 2).astype(np.uint8)
    out = check_images(read_npy(saved(tmp_path, images)), SHAPE, 1)
    assert out.dtype == np.uint8 and out.shape == (2, 8, 8, 1)
    np.testing.assert_array_equal(out[..., 0], images)


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"", "is empty"),
        (b"0 1 0 1\n1 0 1 0\n", "is not a .npy file"),
        (b"PK\x03\x04rest-of-a-zip", "zip/.npz archive"),
        (b"\x93NUMPY\x01\x00\x10\x00{'descr': garbage", "damaged .npy header"),
    ],
)
def test_refuses_files_that_are_not_arrays(tmp_path, content, expected):
    path = tmp_path / "x.npy"
    path.write_bytes(content)
    with pytest.raises(DataError, match=expected):
        read_npy(path)


def test_refuses_a_missing_file(tmp_path):
    with pytest.raises(DataError, match="--images: no such file"):
        read_npy(tmp_path / "absent.npy")


def test_refuses_a_truncated_array(tmp_path):
    path = saved(tmp_path, np.zeros((4, 8, 8), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(
        DataError,
        match=r"truncated: its header announces uint8 \(4, 8, 8\) \(256 data bytes\), "
        r"the file holds 246",
    ):
        read_npy(path)


def test_never_unpickles_an_object_array(tmp_path):
    target = tmp_path / "owned.txt"
    array = np.empty(1, dtype=object)
    array[0] = Exploit(target)
    path = tmp_path / "x.npy"
    with open(path, "wb") as fh:
        np.save(fh, array, allow_pickle=True)
    with pytest.raises(DataError, match=r"holds Python objects \(dtype object\), which would have to be unpickled"):
        read_npy(path)
    assert not target.exists()
    raw = tmp_path / "raw.pkl"
    raw.write_bytes(pickle.dumps(Exploit(target)))
    with pytest.raises(DataError, match="is not a .npy file"):
        read_npy(raw)
    assert not target.exists()


@pytest.mark.parametrize(
    "images, expected",
    [
        (
            np.zeros((2, 8, 9), dtype=np.uint8),
            r"expected images of shape \(n, 8, 8, 1\) or \(n, 8, 8\), got \(2, 8, 9\)",
        ),
        (np.zeros((8, 8), dtype=np.uint8), r"got \(8, 8\)"),
        (np.zeros((2, 8, 8, 3), dtype=np.uint8), r"got \(2, 8, 8, 3\)"),
        (np.zeros((0, 8, 8, 1), dtype=np.uint8), "no images"),
        (np.array(["a"] * 64).reshape(1, 8, 8), "pixel values must be numbers"),
        (np.full((1, 8, 8), np.nan), "NaN or infinity"),
        (
            np.full((1, 8, 8), 255, dtype=np.uint8),
            r"span 255..255, but the model was trained on integers in 0..1 "
            r"\(binary images\); .* pass --rescale",
        ),
        (np.full((1, 8, 8), -1, dtype=np.int16), r"span -1..-1"),
        (np.full((1, 8, 8), 0.5), r"span 0.5..0.5 \(not all integers\)"),
    ],
)
def test_refuses_images_the_model_cannot_take(images, expected):
    with pytest.raises(DataError, match=expected):
        check_images(images, SHAPE, 1)


def test_rescales_only_when_asked():
    images = np.array([0, 100, 128, 255] * 16, dtype=np.uint8).reshape(1, 8, 8)
    with pytest.raises(DataError, match="pass --rescale"):
        check_images(images, SHAPE, 1)
    out = check_images(images, SHAPE, 1, rescale=True)
    np.testing.assert_array_equal(out.reshape(-1)[:4], [0, 0, 1, 1])
    floats = np.array([0.0, 0.25, 0.75, 1.0] * 16).reshape(1, 8, 8)
    np.testing.assert_array_equal(check_images(floats, SHAPE, 255, rescale=True).reshape(-1)[:4], [0, 64, 191, 255])
    with pytest.raises(DataError, match=r"--rescale maps 0..1 onto 0..255, but the pixel values span 0..2"):
        check_images(floats * 2, SHAPE, 255, rescale=True)
    # integer-valued floats and bools inside the model's range pass unchanged
    assert check_images(np.ones((1, 8, 8), dtype=bool), SHAPE, 1).max() == 1
    assert check_images(np.ones((1, 8, 8)), SHAPE, 1).dtype == np.uint8


def test_output_path_must_be_a_writable_file_name(tmp_path):
    with pytest.raises(DataError, match="is a directory"):
        check_output_path(tmp_path)
    assert check_output_path(tmp_path / "new" / "codes.npy") == tmp_path / "new" / "codes.npy"
    (tmp_path / "file").write_text("")
    with pytest.raises(DataError, match="is not a writable directory"):
        check_output_path(tmp_path / "file" / "codes.npy")


def _check_or_refuse(array: np.ndarray, rescale: bool) -> None:
    try:
        out = check_images(array, SHAPE, 1, rescale=rescale)
    except DataError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 400
        return
    assert out.dtype == np.uint8 and out.shape[1:] == SHAPE and out.shape[0] >= 1
    assert out.min() >= 0 and out.max() <= 1


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    array=hnp.arrays(
        dtype=st.one_of(hnp.scalar_dtypes(), hnp.unicode_string_dtypes(max_len=3)),
        shape=hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=9),
    ),
    rescale=st.booleans(),
)
def test_random_arrays_are_accepted_in_range_or_refused_with_one_line(array, rescale):
    _check_or_refuse(array, rescale)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_file_bytes_are_read_as_arrays_or_refused(tmp_path, data):
    """Valid .npy files cut, extended or overwritten at random points: a clean array or a DataError."""
    buffer = io.BytesIO()
    dtype = data.draw(st.sampled_from(["u1", "<i2", "<f4", "<f8", "?"]))
    np.save(buffer, np.zeros(data.draw(st.integers(0, 3)) * 64, dtype=dtype).reshape(-1, 8, 8))
    raw = damage(data, buffer.getvalue(), max_extension=16, max_patch=8)
    path = tmp_path / "fuzz.npy"
    path.write_bytes(raw)
    try:
        array = read_npy(path)
    except DataError as exc:
        assert str(exc).startswith("--images: ")
        return
    assert isinstance(array, np.ndarray) and not array.dtype.hasobject
    _check_or_refuse(array, rescale=False)
