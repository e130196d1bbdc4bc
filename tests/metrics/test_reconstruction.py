"""Reconstruction measures: exact values on a stub model, consistency on a real VAE."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from betavae.errors import ConfigError, DataError
from betavae.evaluation import reconstruction
from betavae.evaluation.inference import encode_means, images_to_input, kl_per_latent
from betavae.models import ModelConfig, build_model
from tests.helpers.synthetic import SyntheticGrid


class StubVAE(torch.nn.Module):
    """Posterior means [1, 0, factor 2 class], log-variances 0, decoder logits 0 everywhere."""

    def __init__(self) -> None:
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(()))  # gives the module a device

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b = x.shape[0]
        mu = torch.stack([torch.ones(b), torch.zeros(b), 255.0 * x[:, 2, 0, 0]], dim=1)  # (B, 3)
        return mu, torch.zeros_like(mu)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.zeros(z.shape[0], 6, 1, 1)

    def reconstruction_nll(self, recon: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.binary_cross_entropy_with_logits(recon, x, reduction="none").flatten(1).sum(1)


def test_stub_model_gives_hand_computed_values(grid: SyntheticGrid) -> None:
    model = StubVAE().train()
    out = reconstruction.compute(model, grid, np.random.default_rng(0), num_samples=grid.num_images, batch_size=100)
    # Logits 0: -log p(x|z) = log 2 per pixel whatever x, 6 "pixels" per image.
    assert out["log_likelihood"] == pytest.approx(-6 * math.log(2), abs=1e-6)
    # KL per latent = (mu^2 + 1 - 0 - 1) / 2: latent 0 -> 1/2, latent 1 -> 0,
    # latent 2 -> E[c^2] / 2 over the grid's factor-2 classes c in {0, 1, 2, 3}: (0 + 1 + 4 + 9) / 8 = 1.75.
    assert out["kl.0"] == pytest.approx(0.5, abs=1e-6)
    assert out["kl.1"] == pytest.approx(0.0, abs=1e-12)
    assert out["kl.2"] == pytest.approx(1.75, abs=1e-6)
    assert out["kl"] == pytest.approx(2.25, abs=1e-6)
    assert out["elbo"] == pytest.approx(-6 * math.log(2) - 2.25, abs=1e-6)
    assert out["active_latents_kl"] == 2.0  # latents 0 and 2 carry KL above 0.01
    assert out["active_latents_var"] == 1.0  # only latent 2's mean varies across images
    assert model.training  # the model's mode is restored


def test_thresholds_are_parameters(grid: SyntheticGrid) -> None:
    out = reconstruction.compute(
        StubVAE(), grid, np.random.default_rng(0), num_samples=grid.num_images, kl_threshold=1.0, variance_threshold=2.0
    )
    assert out["active_latents_kl"] == 1.0  # only latent 2 (KL 1.75) is above 1 nat
    assert out["active_latents_var"] == 0.0  # its means vary with variance 1.25 < 2
    with pytest.raises(ConfigError, match="reconstruction.num_samples must be >= 2"):
        reconstruction.compute(StubVAE(), grid, np.random.default_rng(0), num_samples=1)


class TinyImages:
    """Just what the reconstruction measures need: held images and their scale."""

    def __init__(self, n: int = 64) -> None:
        rng = np.random.default_rng(0)
        self.images = (rng.random((n, 28, 28, 1)) < 0.2).astype(np.uint8)
        self.max_pixel_value = 1


def test_real_vae_terms_are_consistent() -> None:
    torch.manual_seed(0)
    model = build_model(ModelConfig(architecture="mlp28", latent_dim=4), (28, 28, 1))
    data = TinyImages()
    first = reconstruction.compute(model, data, np.random.default_rng(3), num_samples=40, batch_size=16)
    again = reconstruction.compute(model, data, np.random.default_rng(3), num_samples=40, batch_size=16)
    assert first == again
    assert first["elbo"] == pytest.approx(first["log_likelihood"] - first["kl"], abs=1e-6)
    assert first["kl"] == pytest.approx(sum(first[f"kl.{i}"] for i in range(4)), abs=1e-6)
    # An untrained Bernoulli decoder is near logits 0: about log 2 nats per pixel.
    assert -28 * 28 * 1.5 < first["log_likelihood"] < -28 * 28 * 0.3


def test_images_to_input_layout() -> None:
    images = np.arange(2 * 3 * 4 * 2, dtype=np.uint8).reshape(2, 3, 4, 2)
    x = images_to_input(images, 255)
    assert x.shape == (2, 2, 3, 4) and x.dtype == torch.float32
    assert float(x[1, 1, 2, 3]) == pytest.approx(images[1, 2, 3, 1] / 255)


@pytest.mark.parametrize(
    "images, found",
    [
        (np.zeros((2, 3, 4, 1), dtype=np.float32), "float32 (2, 3, 4, 1)"),
        (np.zeros((3, 4, 1), dtype=np.uint8), "uint8 (3, 4, 1)"),
    ],
)
def test_every_inference_entry_refuses_images_the_models_do_not_take_with_one_error(images, found) -> None:
    from tests.helpers.decoders import KnownDecoder

    message = f"images: expected uint8 images of shape (n, H, W, C), got {found}"
    for call in (
        lambda: images_to_input(images, 255),
        lambda: encode_means(KnownDecoder(), images, 1),
        lambda: kl_per_latent(KnownDecoder(), images, 1),
    ):
        with pytest.raises(DataError) as raised:
            call()
        assert str(raised.value) == message
