"""The procedural dSprites renderer: agreement with real images, exact symmetries, order and storage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from betavae.data import dsprites, storage
from betavae.data.dsprites import DSprites, render
from betavae.errors import DataError

SQUARE, ELLIPSE, HEART = 0, 1, 2


def iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(bool), b.astype(bool)
    return float((a & b).sum() / (a | b).sum())


def one(shape: int, scale: int, orientation: int, px: int, py: int) -> np.ndarray:
    return render(np.array([[shape, scale, orientation, px, py]]))[0]


def test_matches_the_real_dataset(real_dsprites: dict[str, np.ndarray]) -> None:
    drawn = render(real_dsprites["classes"])
    assert drawn.shape == (12, 64, 64) and drawn.dtype == np.uint8
    scores = np.array([iou(a, b) for a, b in zip(drawn, real_dsprites["imgs"], strict=True)])
    assert scores.min() >= 0.90
    assert scores.mean() >= 0.95
    # squares and ellipses reproduce every real pixel
    exact = real_dsprites["classes"][:, 0] != HEART
    assert exact.sum() == 8
    assert np.array_equal(drawn[exact], real_dsprites["imgs"][exact])


def test_values_are_binary_and_sprite_fits_in_frame() -> None:
    rng = np.random.default_rng(0)
    classes = np.stack([rng.integers(0, s, 200) for s in dsprites.FACTOR_SIZES], axis=1)
    imgs = render(classes)
    assert set(np.unique(imgs).tolist()) == {0, 1}
    assert imgs.sum(axis=(1, 2)).min() > 40  # the smallest sprite (a heart at scale 0.5) has ~55 pixels
    assert imgs[:, [0, -1], :].sum() == 0 and imgs[:, :, [0, -1]].sum() == 0


def test_orientation_zero_and_two_pi_are_identical() -> None:
    for shape in (SQUARE, ELLIPSE, HEART):
        for px, py in [(0, 0), (7, 19), (31, 30)]:
            assert np.array_equal(one(shape, 3, 0, px, py), one(shape, 3, 39, px, py))


@pytest.mark.parametrize("shape", [SQUARE, ELLIPSE])
@pytest.mark.parametrize("orientation", [3, 11, 20, 27])
def test_square_and_ellipse_mirror_about_their_long_axis(shape: int, orientation: int) -> None:
    # Turning by -theta mirrors a shape that is symmetric about its own x axis: flipping the image
    # upside down (and the position with it) must give orientation 39 - k exactly.
    img = one(shape, 4, orientation, 13, 6)
    assert np.array_equal(img[::-1, :], one(shape, 4, 39 - orientation, 13, 31 - 6))


@pytest.mark.parametrize("orientation", [0, 5, 17, 30])
def test_heart_mirrors_about_its_axis(orientation: int) -> None:
    img = one(HEART, 2, orientation, 9, 21)
    assert np.array_equal(img[:, ::-1], one(HEART, 2, 39 - orientation, 31 - 9, 21))


def test_half_turn_of_ellipse_and_quarter_turn_of_square_change_nothing() -> None:
    m = np.arange(1100, 1850)
    off = dsprites._lattice_offset(m)
    dx, dy = off[None, :], off[:, None]
    ellipse = dsprites._inside(ELLIPSE, 0.8, 0.6, 0.8, dx, dy)
    assert ellipse.sum() > 1000
    assert np.array_equal(ellipse, dsprites._inside(ELLIPSE, 0.8, -0.6, -0.8, dx, dy))
    square = dsprites._inside(SQUARE, 0.8, 0.6, 0.8, dx, dy)
    assert np.array_equal(square, dsprites._inside(SQUARE, 0.8, -0.8, 0.6, dx, dy))
    assert not np.array_equal(square, dsprites._inside(SQUARE, 0.8, 1.0, 0.0, dx, dy))


def test_last_position_is_first_shifted_by_32_pixels() -> None:
    for shape in (SQUARE, ELLIPSE, HEART):
        first = one(shape, 5, 8, 0, 4)
        assert np.array_equal(one(shape, 5, 8, 31, 4), np.roll(first, 32, axis=1))
        assert np.array_equal(one(shape, 5, 8, 0, 31), np.roll(one(shape, 5, 8, 0, 0), 32, axis=0))


def test_centroid_moves_by_32_over_31_pixels_per_step() -> None:
    rows, cols = np.mgrid[0:64, 0:64] + 0.5
    for px, py in [(0, 0), (5, 12), (20, 3), (31, 31)]:
        img = one(ELLIPSE, 5, 0, px, py).astype(bool)
        assert cols[img].mean() == pytest.approx(16 + 32 * px / 31, abs=0.1)
        assert rows[img].mean() == pytest.approx(16 + 32 * py / 31, abs=0.1)


def test_areas_follow_the_fitted_geometry() -> None:
    # continuous areas: ellipse pi * 12.76 * 7.2 * s^2, square (19.2 s)^2
    assert one(ELLIPSE, 5, 0, 10, 10).sum() == pytest.approx(np.pi * 12.76 * 7.2, rel=0.02)
    assert one(ELLIPSE, 0, 0, 10, 10).sum() == pytest.approx(np.pi * 12.76 * 7.2 / 4, rel=0.05)
    assert one(SQUARE, 5, 0, 10, 10).sum() == 19 * 19  # 19.2 px spans 19 pixel centres
    img = one(ELLIPSE, 5, 0, 0, 0)
    ys, xs = np.nonzero(img)
    assert (xs.max() - xs.min() + 1, ys.max() - ys.min() + 1) == (26, 14)


def test_positive_orientation_turns_counter_clockwise_on_screen() -> None:
    for k, sign in [(5, -1), (34, 1)]:  # 46 degrees: long axis rises to the right (y grows downward)
        ys, xs = np.nonzero(one(ELLIPSE, 5, k, 15, 15))
        assert np.sign(np.cov(xs, ys)[0, 1]) == sign


def test_heart_is_upright_at_orientation_zero() -> None:
    img = one(HEART, 5, 0, 15, 15)
    ys, xs = np.nonzero(img)
    assert (xs.max() - xs.min() + 1, ys.max() - ys.min() + 1) in {(19, 18), (20, 18), (19, 19), (20, 19)}
    top, bottom = ys.min(), ys.max()
    assert img[bottom].sum() <= 2  # the tip
    runs = np.flatnonzero(np.diff(np.r_[0, img[top + 1], 0]) == 1)
    assert len(runs) == 2  # two lobes with the notch between them


def test_lattice_and_direct_paths_agree() -> None:
    sprite = (HEART, 3, 13)
    classes = np.array([[*sprite, px, py] for px in range(32) for py in range(32)])
    via_lattice = render(classes)
    direct = np.concatenate([render(classes[i : i + 16]) for i in range(0, 1024, 16)])
    assert np.array_equal(via_lattice, direct)
    packed = dsprites.render_sprites_packed([2 * 240 + 3 * 40 + 13])
    assert np.array_equal(packed, np.packbits(direct.reshape(1024, -1), axis=1))


def test_sprite_blocks_follow_the_official_order() -> None:
    classes = dsprites.all_classes()
    assert classes.shape == (737280, 5)
    assert classes[1].tolist() == [0, 0, 0, 0, 1] and classes[32].tolist() == [0, 0, 0, 1, 0]
    assert classes[737279].tolist() == [2, 5, 39, 31, 31]
    assert np.array_equal(classes @ [245760, 40960, 1024, 32, 1], np.arange(737280))
    sprites = [0, 281, 719]
    packed = dsprites.render_sprites_packed(sprites)
    for i, s in enumerate(sprites):
        want = render(classes[s * 1024 : (s + 1) * 1024])
        assert np.array_equal(np.unpackbits(packed[i * 1024 : (i + 1) * 1024], axis=1).reshape(-1, 64, 64), want)


def test_dsprites_ground_truth_draws_on_demand() -> None:
    data = DSprites()
    assert data.factor_names == ("shape", "scale", "orientation", "posX", "posY")
    assert data.factor_sizes == (3, 6, 40, 32, 32) and data.num_images == 737280
    assert data.factor_values[2][39] == pytest.approx(2 * np.pi)
    factors, images = data.sample(64, np.random.default_rng(5))
    assert images.shape == (64, 64, 64, 1) and images.dtype == np.uint8
    assert np.array_equal(images[..., 0], render(factors))
    assert data._images is None  # the full grid was never rendered


def test_bad_classes_raise() -> None:
    with pytest.raises(DataError, match=r"'orientation' class 40 in row 0 is outside 0..39"):
        render(np.array([[0, 0, 40, 0, 0]]))
    with pytest.raises(DataError, match=r"shape \(n, 5\)"):
        render(np.zeros((3, 4), dtype=int))
    with pytest.raises(DataError, match="integer class indices"):
        render(np.zeros((1, 5)))


def test_procedural_writer_stores_the_grid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The full render takes tens of seconds (see `python -m benchmarks`, section data); here two real sprites
    # stand in for the 720 so the test checks what the writer stores, in seconds.
    two = dsprites.render_sprites_packed([0, 719])
    fake = np.tile(two, (360, 1))
    monkeypatch.setattr(dsprites, "render_all_packed", lambda workers=1: fake)
    out = dsprites.write_procedural_dsprites(tmp_path / "dsprites")
    manifest = storage.read_manifest(out)
    assert manifest["kind"] == "dsprites" and manifest["source"] == "procedural" and manifest["name"] == "dsprites"
    assert manifest["num_images"] == 737280 and manifest["complete_grid"] is True
    assert manifest["factor_sizes"] == [3, 6, 40, 32, 32] and manifest["observation_shape"] == [64, 64, 1]
    assert manifest["files"]["images.npy.zst"]["bytes"] < 5_000_000
    storage.verify_files(out, manifest)
    assert np.array_equal(storage.read_images(out, manifest, unpack=False), fake)
    table = storage.read_factor_table(out, manifest)
    assert table.column_names == list(dsprites.FACTOR_NAMES)
    assert table.slice(737279).to_pylist() == [{"shape": 2, "scale": 5, "orientation": 39, "posX": 31, "posY": 31}]
