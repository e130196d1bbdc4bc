"""Run pictures: posterior-range traversals, the GIF, prior samples (ISA-VAE's own sampler), sizes and
determinism of every picture drawn from a real (tiny) checkpoint."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from betavae.config import RenderConfig, expand_sweep
from betavae.models.priors import LpNestedISA
from betavae.render.animation import active_latents, save_gif, traversal_frames
from betavae.render.figure import SIZES
from betavae.render.run_pictures import draw_run
from betavae.render.samples import prior_of, sample_prior
from betavae.render.sweep_plots import SweepPoint, by_beta, configurations, group_means, metrics_present
from betavae.render.traversal import posterior_ranges, sweep_values, traversal_grid
from betavae.training.engine import train
from tests.helpers.block_grid import BlockGrid
from tests.helpers.decoders import KnownDecoder, expected_pixel


def test_posterior_range_sweeps_each_latent_over_its_own_range():
    means = np.array([[0.0, -4.0], [1.0, 0.0], [2.0, 4.0]])
    ranges = posterior_ranges(means)
    np.testing.assert_array_equal(ranges, [[0.0, 2.0], [-4.0, 4.0]])
    values = sweep_values([1, 0], 3, limit=9.0, ranges=ranges)
    np.testing.assert_array_equal(values, [[-4.0, 0.0, 4.0], [0.0, 1.0, 2.0]])
    grid = traversal_grid(
        KnownDecoder(),
        np.zeros((2, 3, 1), np.uint8),
        1,
        np.array([1, 0]),
        9.0,
        3,
        values=np.array([[-0.1, 0.0, 0.1], [0.0, 1.0, 2.0]]),
    )
    for col, (v1, v0) in enumerate([(-0.1, 0.0), (0.0, 1.0), (0.1, 2.0)]):
        assert (grid[0:2, 3 * col : 3 * col + 3, 0] == expected_pixel(0.5 + 10 * v1)).all()  # z1 swept, z0 = 0.5
        assert (grid[2:4, 3 * col : 3 * col + 3, 0] == expected_pixel(v0 - 10.0)).all()  # z0 swept, z1 = -1


def test_gif_cycles_every_active_latent_forth_and_back(tmp_path):
    kl = np.array([0.5, 2.0, 0.001])
    active = active_latents(kl)
    np.testing.assert_array_equal(active, [1, 0])  # z2 is below the activity threshold
    values = np.array([[-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0]])
    seeds = np.zeros((2, 2, 3, 1), np.uint8)
    frames = traversal_frames(KnownDecoder(), seeds, 1, active, values, kl)
    assert len(frames) == 2 * 4  # per latent: -1, 0, 1, then back through 0
    assert frames[0].size == (2 * 3 * 2, 2 * 2 + 20)
    body = np.asarray(frames[2])[20:]  # z1 = +1 with z0 = 0.5: logit 10.5
    assert (body == expected_pixel(10.5)).all()
    path = save_gif(frames, tmp_path / "t.gif")
    with Image.open(path) as gif:
        # consecutive identical frames (the z0 sweep is black everywhere at this width) are merged
        assert gif.format == "GIF" and gif.n_frames == 5
        gif.seek(2)
        np.testing.assert_array_equal(np.asarray(gif.convert("L")), np.asarray(frames[2]))


def test_isa_prior_samples_come_from_its_own_sampler():
    params = {
        "model": {"architecture": "mlp28", "latent_dim": 4},
        "train": {"objective": "isa_vae", "beta": 1.0, "isa_layout": [2, 2], "isa_p0": 2.0, "isa_p": 0.8},
        "sweep": {"grid": {}, "seeds": [0]},
    }
    run = expand_sweep(params, "tiny")[0]
    prior = prior_of(run, None)
    assert isinstance(prior, LpNestedISA) and prior.layout == (2, 2)
    z = sample_prior(prior, 5, 4, torch.Generator().manual_seed(3))
    expected = LpNestedISA((2, 2), 2.0, 0.8).sample(5, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(z, expected)
    gaussian = expand_sweep({**params, "train": {"objective": "beta_vae", "beta": 4.0}}, "tiny")[0]
    assert prior_of(gaussian, None) is None


def test_sweep_points_pool_seeds_per_beta():
    points = [
        SweepPoint("a", "beta_vae", 1.0, 0, {"mig.score": 0.1, "reconstruction.log_likelihood": -5}),
        SweepPoint("b", "beta_vae", 1.0, 1, {"mig.score": 0.3, "reconstruction.log_likelihood": -6}),
        SweepPoint("c", "beta_vae", 4.0, 0, {"mig.score": 0.5, "reconstruction.log_likelihood": -9}),
    ]
    assert metrics_present(points) == ["mig.score"]
    rows = by_beta(points, "mig.score")["beta_vae"]
    assert [r[0] for r in rows] == [1.0, 4.0] and [r[3] for r in rows] == [2, 1]
    assert rows[0][1] == pytest.approx(0.2) and rows[0][2] == pytest.approx(0.1) and rows[1][2] == 0.0


@pytest.fixture(scope="module")
def block_checkpoint(tmp_path_factory):
    """A 2-latent model trained for a few steps on the 8 x 8 block grid (small, real)."""
    params = {
        "model": {"architecture": "mlp28", "latent_dim": 2},
        "train": {
            "objective": "beta_vae",
            "beta": 4.0,
            "steps": 4,
            "batch_size": 8,
            "device": "cpu",
            "checkpoint_every": 4,
            "log_every": 2,
        },
        "sweep": {"grid": {}, "seeds": [0]},
    }
    data = BlockGrid()
    padded = SimpleNamespace(
        images=np.pad(data.images, ((0, 0), (0, 20), (0, 20), (0, 0))), max_pixel_value=1, digest="blocks"
    )
    result = train(expand_sweep(params, "blocks")[0], padded, tmp_path_factory.mktemp("ckpt"), progress=False)
    return result.checkpoint, padded


def test_every_run_picture_has_its_fixed_size_and_repeats_byte_for_byte(block_checkpoint, tmp_path):
    checkpoint, data = block_checkpoint
    grid = BlockGrid()

    class Padded(BlockGrid):  # the block grid's factors with the images the model was trained on
        has_factors = True
        images = data.images

        def sample_observations_from_factors(self, factors, rng):
            return np.pad(grid.sample_observations_from_factors(factors, rng), ((0, 0), (0, 20), (0, 20), (0, 0)))

        def index_to_classes(self, index):
            return grid.all_classes[index]

    history = {"total": (np.array([2, 4]), np.array([9.0, 8.0]))}
    settings = RenderConfig(steps=3, seed_images=2, kl_samples=32, seed=1, range="posterior")
    first = draw_run(checkpoint, Padded(), settings, tmp_path / "a", title="t", history=history)
    second = draw_run(checkpoint, Padded(), settings, tmp_path / "b", title="t", history=history)
    assert set(first.paths) == {
        "traversal",
        "traversal_gif",
        "reconstructions",
        "prior_samples",
        "kl_per_latent",
        "losses",
        "factor_response",
        "latent_scatter",
        "decoded_grid",
    }
    for kind, path in first.paths.items():
        assert path.read_bytes() == second.paths[kind].read_bytes(), kind
        if kind != "traversal_gif":
            with Image.open(path) as img:
                assert img.size == SIZES[kind], kind
    assert first.kl.shape == (2,) and (first.kl >= 0).all()


def test_group_means_give_the_standard_error_per_objective_and_beta():
    points = [
        SweepPoint("a", "beta_vae", 1.0, 0, {"mig.score": 0.1, "reconstruction.log_likelihood": -5}),
        SweepPoint("b", "beta_vae", 1.0, 1, {"mig.score": 0.3, "reconstruction.log_likelihood": -7}),
        SweepPoint("c", "beta_vae", 4.0, 0, {"mig.score": 0.5, "reconstruction.log_likelihood": -9}),
        SweepPoint("d", "isa_vae", 1.0, 0, {"mig.score": 0.4}),  # no reconstruction: not on the trade-off
    ]
    means = group_means(points, "mig.score")
    assert set(means) == {("beta_vae", 1.0), ("beta_vae", 4.0)}
    recon, recon_se, mig, mig_se, n = means[("beta_vae", 1.0)]
    assert (recon, mig, n) == (pytest.approx(-6.0), pytest.approx(0.2), 2)
    assert recon_se == pytest.approx(1.0) and mig_se == pytest.approx(0.1)  # sd (n - 1) / sqrt(n)
    assert means[("beta_vae", 4.0)][1] == 0.0 and means[("beta_vae", 4.0)][3] == 0.0
    assert configurations(points) == [("beta_vae", 1.0), ("beta_vae", 4.0), ("isa_vae", 1.0)]


def test_sweep_plots_have_their_fixed_size_and_repeat_byte_for_byte(tmp_path):
    from PIL import Image

    from betavae.render.figure import SIZES
    from betavae.render.sweep_plots import save_score_distribution_png, save_tradeoff_png

    rng = np.random.default_rng(0)
    points = [
        SweepPoint(f"{o}-{b}-{s}", o, b, s, {"mig.score": rng.random(), "reconstruction.log_likelihood": -rng.random()})
        for o in ("beta_vae", "isa_vae")
        for b in (1.0, 4.0)
        for s in range(5)
    ]
    for name, draw in (("score_distribution", save_score_distribution_png), ("sweep_tradeoff", save_tradeoff_png)):
        first = draw(points, tmp_path / f"{name}-1.png")
        second = draw(points, tmp_path / f"{name}-2.png")
        assert Image.open(first).size == SIZES[name]
        assert first.read_bytes() == second.read_bytes()


def test_several_latent_sizes_are_separate_series_and_get_the_normalised_beta_plot(tmp_path):
    from PIL import Image

    from betavae.render.figure import SIZES
    from betavae.render.sweep_plots import normalised_beta, save_normalised_beta_png

    assert normalised_beta(4.0, 10, 4096) == pytest.approx(4.0 * 10 / 4096)
    points = [
        SweepPoint(f"{d}-{b}-{s}", "beta_vae", b, s, {"mig.score": 0.1 * d + 0.01 * b + 0.001 * s}, latent_dim=d)
        for d in (2, 10)
        for b in (1.0, 4.0)
        for s in (0, 1)
    ]
    series = by_beta(points, "mig.score")
    assert set(series) == {"beta_vae, 2 latents", "beta_vae, 10 latents"}  # not pooled as if seeds
    assert [n for _, _, _, n in series["beta_vae, 2 latents"]] == [2, 2]
    assert series["beta_vae, 10 latents"][1][1] == pytest.approx(1.0 + 0.04 + 0.0005)
    out = save_normalised_beta_png(points, tmp_path / "normalised.png", pixels=4096)
    assert Image.open(out).size == SIZES["normalised_beta"]


def test_pictures_over_training_have_a_row_per_snapshot_and_repeat_byte_for_byte(tmp_path):
    """A run with snapshots at steps 2 and 4 of 6: the picture's rows are the inputs, step 2, step 4 and the
    trained model, and each row holds exactly that model's reconstructions (checked against `reconstruct`)."""
    from PIL import Image

    from betavae.paths import snapshot_files
    from betavae.render.figure import SIZES
    from betavae.render.reconstructions import reconstruct
    from betavae.render.snapshot_pictures import COLUMNS, save_snapshot_pictures_png, snapshot_rows
    from betavae.training.checkpoint import model_from_checkpoint, seal_checkpoint

    params = {
        "model": {"architecture": "mlp28", "latent_dim": 2},
        "train": {
            "objective": "beta_vae",
            "beta": 4.0,
            "steps": 6,
            "batch_size": 8,
            "device": "cpu",
            "checkpoint_every": 6,
            "log_every": 2,
            "snapshots": [2, 4],
        },
        "sweep": {"grid": {}, "seeds": [0]},
    }
    data = BlockGrid()
    padded = SimpleNamespace(
        images=np.pad(data.images, ((0, 0), (0, 20), (0, 20), (0, 0))), max_pixel_value=1, digest="blocks"
    )
    result = train(expand_sweep(params, "blocks")[0], padded, tmp_path / "ckpt", progress=False)
    weights = seal_checkpoint(result.checkpoint, tmp_path / "sealed" / "weights.pt")
    files = snapshot_files(weights)
    assert [f.name for f in files] == ["step-000000002.pt", "step-000000004.pt"]
    inputs = padded.images[:COLUMNS]
    labels, rows = snapshot_rows(files, weights, inputs, 1, seed=0)
    assert labels == ["step 2", "step 4", "step 6 (trained)"]
    for row, path in zip(rows, [*files, weights]):
        model, _ = model_from_checkpoint(path)
        expected = reconstruct(model, inputs, 1)
        width = expected.shape[2]
        assert np.array_equal(row[:, : COLUMNS * width], np.concatenate(list(expected), axis=1))
    assert not np.array_equal(rows[0], rows[2])  # training moved the model
    first = save_snapshot_pictures_png(files, weights, inputs, 1, tmp_path / "a.png", seed=0)
    second = save_snapshot_pictures_png(files, weights, inputs, 1, tmp_path / "b.png", seed=0)
    assert Image.open(first).size == SIZES["snapshot_pictures"] and first.read_bytes() == second.read_bytes()
    # A test split smaller than a row (CelebA's tenth of a few images): as many prior draws as inputs.
    _, few = snapshot_rows(files, weights, inputs[:2], 1, seed=0)
    assert few.shape[2] == 2 * 2 * width and np.array_equal(few[:, :, : 2 * width], rows[:, :, : 2 * width])
    save_snapshot_pictures_png(files, weights, inputs[:2], 1, tmp_path / "c.png", seed=0)


def test_the_decoded_grid_puts_z0_on_columns_and_z1_on_rows_as_on_a_plot(block_checkpoint):
    from betavae.render.decoded_grid import decoded_grid, grid_latents
    from betavae.render.figure import tile
    from betavae.render.samples import decode_samples
    from betavae.training.checkpoint import model_from_checkpoint

    z = grid_latents(3, 4.0).numpy()
    assert z.tolist() == [
        [-4.0, 4.0], [0.0, 4.0], [4.0, 4.0],
        [-4.0, 0.0], [0.0, 0.0], [4.0, 0.0],
        [-4.0, -4.0], [0.0, -4.0], [4.0, -4.0],
    ]  # fmt: skip
    model, _ = model_from_checkpoint(block_checkpoint[0])
    images = decoded_grid(model, 3, 4.0)
    mosaic = tile(images, 3, 3)
    h, w = images.shape[1:3]
    bottom_right = decode_samples(model, torch.tensor([[4.0, -4.0]]))[0]
    np.testing.assert_array_equal(mosaic[2 * h :, 2 * w :], bottom_right)  # pixel for pixel
