"""Inference with a trained model: the models' input check, posterior means (the representation the metrics
and `betavae pull` use), decoded images, and the KL divergence of each latent from the prior.

The KL per latent, mean KL(q(z_i|x) || N(0, 1)) over images (Kingma & Welling 2014, Appendix B), is
computed here for every reader: the traversal pictures sort latents by it, UDR keeps the latents above
the active-latent threshold (:data:`betavae.config.metrics.ACTIVE_KL_NATS`) and the reconstruction
measures report it with :func:`kl_sum`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from betavae.data.ground_truth import condition_labels
from betavae.errors import DataError
from betavae.models.gaussian import kl_normal_standard
from betavae.models.inputs import encoder_input, to_float_images
from betavae.models.vae import VAE
from betavae.training.allocator import keep_freed_memory

INFERENCE_BATCH_SIZE = 2048
"""Images per forward pass at inference, unless a network asks for fewer on CPU (`inference_batch_size`)."""
KL_BATCH_SIZE = 1024
"""Images per forward pass of :func:`posterior_means_and_kl` (a fixed split keeps the float64 sums, and so
the KL values, the same from run to run)."""


def check_uint8_images(images: np.ndarray, what: str = "images") -> np.ndarray:
    """Return `images` if they are what the models take, uint8 (n, H, W, C); raise DataError otherwise."""
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 4:
        found = f"{images.dtype} {images.shape}" if isinstance(images, np.ndarray) else type(images).__name__
        raise DataError(f"{what}: expected uint8 images of shape (n, H, W, C), got {found}")
    return images


def images_to_input(images: np.ndarray, max_pixel_value: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 images (B, H, W, C) -> float (B, C, H, W) in [0, 1], the models' input convention."""
    check_uint8_images(images)
    return to_float_images(torch.from_numpy(np.ascontiguousarray(images)).to(device), max_pixel_value)


def inference_batch_size(network: torch.nn.Module, device: torch.device | str) -> int:
    """Images per forward pass of `network` (an encoder or a decoder) on `device`.

    `INFERENCE_BATCH_SIZE`, or on CPU the network's `cpu_inference_batch_size` where it sets one: a
    network whose activations are wide per image (the conv nets' 32x32x32 maps) sets a smaller batch so
    its buffers stay below the allocator's reuse threshold (`betavae.training.allocator`). Every image is
    encoded on its own, so the batch changes only the speed, never the codes."""
    if torch.device(device).type == "cpu":
        return int(getattr(network, "cpu_inference_batch_size", INFERENCE_BATCH_SIZE))
    return INFERENCE_BATCH_SIZE


def _images_per_pass(batch_size: int | None, network: torch.nn.Module, device: torch.device | str) -> int:
    """A caller's `batch_size`, checked, or by default :func:`inference_batch_size` of `network`."""
    if batch_size is None:
        return inference_batch_size(network, device)
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive number of images per pass, got {batch_size!r}")
    return int(batch_size)


@torch.no_grad()
def encode_means(
    model: VAE,
    images: np.ndarray,
    max_pixel_value: int,
    *,
    batch_size: int | None = None,
    device: torch.device | str = "cpu",
    labels: np.ndarray | None = None,
) -> np.ndarray:
    """Posterior means mu(x) for uint8 images (n, H, W, C) -> float32 (n, d), `batch_size` images per
    forward pass (default: :func:`inference_batch_size` of the encoder); a conditional model's means
    mu(x, c) take each image's class from `labels` (n,)."""
    check_uint8_images(images)
    batch_size = _images_per_pass(batch_size, model.encoder, device)
    model.eval()
    if torch.device(device).type == "cpu":
        keep_freed_memory()  # each batch allocates the same large float buffers again
    out = []
    for start in range(0, len(images), batch_size):
        batch = torch.from_numpy(np.ascontiguousarray(images[start : start + batch_size])).to(device)
        mu, _ = encode(model, encoder_input(batch, max_pixel_value, model.encoder), _part(labels, start, batch_size))
        out.append(mu.float().cpu().numpy())
    if not out:
        return np.zeros((0, model.config.latent_dim), dtype=np.float32)
    return np.concatenate(out)


def labels_of(model: VAE, data: object, rows: np.ndarray | None = None) -> np.ndarray | None:
    """A conditional model's classes (`model.condition_on`) of `data`'s images, all of them or those of
    `rows`; None for an unconditional model, which takes none."""
    if not getattr(model, "conditional", False):
        return None
    labels, _ = condition_labels(data, str(model.config.condition_on))
    return labels if rows is None else labels[np.asarray(rows, dtype=np.int64)]


def encode(model: VAE, x: torch.Tensor, c: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """`model.encode(x)`, with the classes c of a conditional model's images when there are any (a model
    without classes may implement `encode(x)` alone)."""
    return model.encode(x) if c is None else model.encode(x, c)


def decode(model: VAE, z: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
    """`model.decode(z)`, with a conditional model's classes c when there are any."""
    return model.decode(z) if c is None else model.decode(z, c)


def _part(labels: np.ndarray | None, start: int, size: int) -> torch.Tensor | None:
    """The labels of one batch as a tensor, or None; the model checks them against the batch (a missing,
    foreign or impossible class is its ValueError)."""
    return None if labels is None else torch.as_tensor(np.asarray(labels[start : start + size]))


class Representation:
    """The metrics' `representation` callable: uint8 images (n, H, W, C) -> latent means (n, d).

    For a conditional model `condition_factor` is the column of its factor among the dataset's factors, and
    the code sources (:mod:`betavae.metrics.cache`) call it with the images' classes of that factor as well,
    so each image is encoded with its own class; None for an unconditional model."""

    def __init__(
        self,
        model: VAE,
        max_pixel_value: int,
        condition_factor: int | None,
        batch_size: int | None,
        device: torch.device | str,
    ) -> None:
        self.model = model
        self.max_pixel_value = max_pixel_value
        self.condition_factor = condition_factor
        self.batch_size = batch_size
        self.device = device

    def __call__(self, images: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        return encode_means(
            self.model, images, self.max_pixel_value, batch_size=self.batch_size, device=self.device, labels=labels
        )


def representation_of(
    model: VAE,
    max_pixel_value: int,
    *,
    factor_names: Sequence[str] = (),
    batch_size: int | None = None,
    device: torch.device | str = "cpu",
) -> Representation:
    """The metrics' `representation` callable of `model`; a conditional model's reads the classes of its
    factor (`model.condition_on`), found among the dataset's `factor_names`."""
    condition = model.config.condition_on if getattr(model, "conditional", False) else None
    if condition is not None and condition not in factor_names:
        raise DataError(
            f"the model is conditional on {condition!r}, which is not a factor of the dataset "
            f"({', '.join(factor_names) or 'no factors'})"
        )
    index = None if condition is None else list(factor_names).index(condition)
    return Representation(model, max_pixel_value, index, batch_size, device)


@torch.no_grad()
def decode_images(
    model: VAE,
    latents: np.ndarray,
    max_pixel_value: int,
    *,
    batch_size: int | None = None,
    device: torch.device | str = "cpu",
    labels: np.ndarray | None = None,
) -> np.ndarray:
    """Latents (n, d) -> uint8 images (n, H, W, C): the mean of p(x|z) (p(x|z, c) with the classes `labels`
    (n,) of a conditional model), scaled to the data's pixel range and rounded, so a decoded image has the
    format `encode_means` takes. `batch_size` latents per forward pass (default: :func:`inference_batch_size`
    of the decoder)."""
    d = model.config.latent_dim
    latents = np.asarray(latents, dtype=np.float32)
    if latents.ndim != 2 or latents.shape[1] != d or not np.isfinite(latents).all():
        raise ValueError(f"expected finite latents of shape (n, {d}), got {latents.dtype} {latents.shape}")
    batch_size = _images_per_pass(batch_size, model.decoder, device)
    model.eval()
    if torch.device(device).type == "cpu":
        keep_freed_memory()  # as in encode_means: conv64 decodes 1.85x faster in a fresh process with it
    h, w, c = model.observation_shape
    out = [np.zeros((0, h, w, c), dtype=np.uint8)]
    for start in range(0, len(latents), batch_size):
        z = torch.from_numpy(latents[start : start + batch_size]).to(device)
        recon = decode(model, z, _part(labels, start, batch_size))
        pixels = model.mean_image(recon).float().clamp_(0.0, 1.0)  # (B, C, H, W)
        scaled = torch.round(pixels * max_pixel_value).to(torch.uint8).permute(0, 2, 3, 1)
        out.append(scaled.cpu().numpy())
    return np.concatenate(out)


def kl_sum(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z_i|x) || N(0, 1)) per latent summed over a batch, in float64: mu, logvar (B, d) -> (d,).

    Kingma & Welling 2014, Appendix B (:func:`betavae.models.gaussian.kl_normal_standard`); each term is
    summed in float64, so a mean over many batches does not lose the small KL of a nearly unused latent."""
    return kl_normal_standard(mu, logvar).double().sum(0)


@torch.no_grad()
def posterior_means_and_kl(
    model: VAE,
    images: np.ndarray,
    max_pixel_value: int,
    *,
    batch_size: int = KL_BATCH_SIZE,
    labels: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior means (n, d) of uint8 `images` (n, H, W, C), as float64, and the mean KL(q(z_i|x) || N(0, 1))
    per latent over them (d,), in nats (Kingma & Welling 2014, Appendix B); a conditional model's with the
    images' classes `labels` (n,)."""
    check_uint8_images(images)
    if len(images) == 0:
        raise DataError("the KL per latent needs at least one image, got none")
    model.eval()
    means, total = [], None
    for start in range(0, len(images), batch_size):
        x = images_to_input(images[start : start + batch_size], max_pixel_value)
        mu, logvar = encode(model, x, _part(labels, start, batch_size))
        means.append(mu.double().numpy())
        part = kl_sum(mu, logvar)
        total = part if total is None else total + part
    assert total is not None
    return np.concatenate(means), (total / len(images)).numpy()


def kl_per_latent(
    model: VAE,
    images: np.ndarray,
    max_pixel_value: int,
    *,
    batch_size: int = KL_BATCH_SIZE,
    labels: np.ndarray | None = None,
) -> np.ndarray:
    """Mean KL(q(z_i|x) || N(0, 1)) per latent (d,) over uint8 `images` (n, H, W, C), in nats."""
    return posterior_means_and_kl(model, images, max_pixel_value, batch_size=batch_size, labels=labels)[1]
