"""Encoder and decoder networks.

Every encoder maps x (B, C, H, W) to (B, 2 d): the posterior means followed by the log-variances.
Every decoder maps z (B, d) to (B, C, H, W): logits (Bernoulli) or means (Gaussian).
A conditional VAE's networks take K more inputs, a one-hot class per image (`condition_classes` = K): the
encoder beside the pixels (MLP) or as K constant maps beside the channels (conv), the decoder beside z.
Both return float32 even under bf16 autocast, so the sampling, the KL and the likelihood sums that
follow them are computed in float32 (only the matrix products inside the networks run in bf16).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from betavae.errors import ConfigError


class BinaryAwareLinear(nn.Module):
    """A dense layer y = x W + b whose weight is stored as (in, out) so rows can be gathered.

    When the input is binary (every entry 0 or 1) and needs no gradient, x W is the sum of the rows of W
    selected by the 1-entries of x, so the layer is computed with `embedding_bag` in O(#ones * out)
    instead of O(in * out). On sparse binary images such as dSprites (about 3-10 % white pixels) this is
    several times faster on CPU and equal to the dense product up to float rounding. Gradients for W and b
    flow through either path; inputs that need a gradient (e.g. a contractive penalty) and inputs on an
    accelerator (where finding the 1-entries would wait for the device every step) take the dense path.
    """

    def __init__(self, in_features: int, out_features: int, binary_fast_path: bool = True) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.binary_fast_path = binary_fast_path
        self.weight = nn.Parameter(torch.empty(in_features, out_features))  # (in, out)
        self.bias = nn.Parameter(torch.empty(out_features))
        # Same initial law as nn.Linear: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias.
        bound = 1.0 / math.sqrt(in_features)
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def _binary_indices(self, x: Tensor) -> tuple[Tensor, Tensor] | None:
        """(rows, cols) of the 1-entries of x when the fast path applies, else None.

        A float x is binary exactly when every nonzero entry equals 1, so the check costs one gather over
        the nonzero entries instead of a pass over the whole batch. A uint8 x (binary images as stored,
        see :func:`betavae.models.inputs.encoder_input`) is searched directly: a quarter of the bytes of
        its float conversion, which is never made."""
        if not self.binary_fast_path or x.requires_grad or x.dim() != 2 or x.device.type != "cpu":
            return None  # on accelerators the dense product is fast and nonzero() would sync the host
        if x.dtype == torch.uint8:
            rows, cols = torch.nonzero(x, as_tuple=True)  # binary: checked in forward()
            return rows, cols
        if not x.is_floating_point():
            return None
        rows, cols = torch.nonzero(x, as_tuple=True)  # row-major: each image's indices are contiguous
        if not bool((x[rows, cols] == 1).all()):
            return None
        return rows, cols

    def uses_fast_path(self, x: Tensor) -> bool:
        """True when `forward(x)` takes the embedding_bag path."""
        return self._binary_indices(x) is not None

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, in) floats, or uint8 entries that are all 0 or 1 -> (B, out)."""
        if x.dtype == torch.uint8 and x.numel() > 0 and bool(x.max() > 1):
            raise ValueError(
                "uint8 input to a BinaryAwareLinear must be binary (0 or 1); "
                "convert grey levels with betavae.models.inputs.to_float_images"
            )
        indices = self._binary_indices(x)
        if indices is not None:
            return binary_linear(x.shape[0], *indices, self.weight, self.bias)
        return torch.addmm(self.bias, x.float() if x.dtype == torch.uint8 else x, self.weight)


GATHER_BLOCK_COLUMNS = 128
"""Width of the column blocks that :func:`binary_linear` gathers at a time at inference."""


def binary_linear(batch: int, rows: Tensor, cols: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """x W + b for a binary x (batch, in) given by the (rows, cols) of its 1-entries in row-major order:
    sums the rows of W (in, out) picked by each image. Returns (batch, out).

    Without autograd and for large batches (inference), the rows are gathered one block of
    `GATHER_BLOCK_COLUMNS` columns at a time, so the block of W being read stays in the core's cache
    instead of streaming the whole of W once per image. Every output entry is still the sum of the same
    terms in the same order, so the result is bitwise the one-block result (a test checks this)."""
    counts = torch.bincount(rows, minlength=batch)
    offsets = torch.cumsum(counts, 0) - counts
    blocked = (
        batch >= 1024
        and weight.shape[1] > GATHER_BLOCK_COLUMNS
        and not (torch.is_grad_enabled() and weight.requires_grad)
    )
    if not blocked:
        return F.embedding_bag(cols, weight, offsets, mode="sum") + bias  # an empty bag gives 0
    out = torch.empty(batch, weight.shape[1], dtype=weight.dtype, device=weight.device)
    for start in range(0, weight.shape[1], GATHER_BLOCK_COLUMNS):
        block = weight[:, start : start + GATHER_BLOCK_COLUMNS].contiguous()
        out[:, start : start + GATHER_BLOCK_COLUMNS] = F.embedding_bag(cols, block, offsets, mode="sum")
    return out.add_(bias)


class MLPEncoder(nn.Module):
    """Fully connected encoder with ReLU activations: C*H*W -> hidden... -> 2 d.

    Its first layer also reads binary images as uint8 (:attr:`reads_binary_bytes`), which spares
    inference the float conversion of every batch."""

    reads_binary_bytes = True

    def __init__(self, in_features: int, hidden: tuple[int, ...], latent_dim: int) -> None:
        super().__init__()
        self.first = BinaryAwareLinear(in_features, hidden[0])
        layers: list[nn.Module] = [nn.ReLU()]
        for a, b in zip(hidden[:-1], hidden[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        layers.append(nn.Linear(hidden[-1], 2 * latent_dim))
        self.rest = nn.Sequential(*layers)

    def forward(self, x: Tensor, condition: Tensor | None = None) -> Tensor:
        """x: (B, C, H, W) floats in [0, 1], or uint8 in {0, 1}; condition: one-hot (B, K) of x's dtype or
        None -> (B, 2 d)."""
        flat = x.flatten(1)
        if condition is not None:
            flat = torch.cat([flat, condition], 1)  # a binary image stays binary beside a one-hot class
        return self.rest(self.first(flat)).float()


class MLPDecoder(nn.Module):
    """Fully connected decoder: d -> hidden... -> C*H*W, reshaped to (B, C, H, W)."""

    def __init__(
        self, latent_dim: int, hidden: tuple[int, ...], shape_chw: tuple[int, int, int], activation: type[nn.Module]
    ) -> None:
        super().__init__()
        self.shape_chw = shape_chw
        sizes = (latent_dim, *hidden)
        layers: list[nn.Module] = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(a, b), activation()]
        layers.append(nn.Linear(sizes[-1], math.prod(shape_chw)))
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        """z: (B, d) -> (B, C, H, W)."""
        return self.net(z).float().view(z.shape[0], *self.shape_chw)


class ConvEncoder(nn.Module):
    """Burgess et al. 2018 Sec. 4 / Higgins et al. 2017 Appendix A conv encoder for 64x64xC images:
    conv 32-32-64-64 (4x4, stride 2, ReLU) -> FC 256 (ReLU) -> 2 d."""

    cpu_inference_batch_size = 512
    """The first map is 32x32x32 floats, 128 KiB per image: 512 images keep it at 64 MiB, which malloc
    reuses from batch to batch; 2048 (256 MiB) reach `allocator.MMAP_THRESHOLD`, so every batch
    page-faulted fresh memory and encoding ran at half the speed (benchmarks/NOTES.md)."""

    def __init__(self, channels: int, latent_dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, 32, 4, 2, 1),
            nn.ReLU(),  # (B, 32, 32, 32)
            nn.Conv2d(32, 32, 4, 2, 1),
            nn.ReLU(),  # (B, 32, 16, 16)
            nn.Conv2d(32, 64, 4, 2, 1),
            nn.ReLU(),  # (B, 64, 8, 8)
            nn.Conv2d(64, 64, 4, 2, 1),
            nn.ReLU(),  # (B, 64, 4, 4)
            nn.Flatten(),
            nn.Linear(64 * 4 * 4, 256),
            nn.ReLU(),
            nn.Linear(256, 2 * latent_dim),
        )

    def forward(self, x: Tensor, condition: Tensor | None = None) -> Tensor:
        """x: (B, C, 64, 64), condition: one-hot (B, K) or None -> (B, 2 d)."""
        if condition is not None:
            maps = condition.to(x.dtype)[:, :, None, None].expand(-1, -1, *x.shape[2:])
            x = torch.cat([x, maps], 1)
        return self.net(x).float()


class ConvDecoder(nn.Module):
    """Mirror of ConvEncoder: FC 256 -> FC 1024 -> transposed conv 64-32-32-C (4x4, stride 2)."""

    cpu_inference_batch_size = ConvEncoder.cpu_inference_batch_size  # the same 32x32x32 map, before the output

    def __init__(self, channels: int, latent_dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(latent_dim, 256),
            nn.ReLU(),
            nn.Linear(256, 64 * 4 * 4),
            nn.ReLU(),
            nn.Unflatten(1, (64, 4, 4)),
            nn.ConvTranspose2d(64, 64, 4, 2, 1),
            nn.ReLU(),  # (B, 64, 8, 8)
            nn.ConvTranspose2d(64, 32, 4, 2, 1),
            nn.ReLU(),  # (B, 32, 16, 16)
            nn.ConvTranspose2d(32, 32, 4, 2, 1),
            nn.ReLU(),  # (B, 32, 32, 32)
            nn.ConvTranspose2d(32, channels, 4, 2, 1),  # (B, C, 64, 64)
        )

    def forward(self, z: Tensor) -> Tensor:
        """z: (B, d) -> (B, C, 64, 64)."""
        return self.net(z).float()


_EXPECTED_SIZE = {"mlp64": 64, "mlp64-narrow": 64, "conv64": 64, "mlp28": 28}
NARROW_WIDTH = 400  # hidden units of mlp64-narrow


def build_networks(
    architecture: str, latent_dim: int, observation_shape: tuple[int, ...], condition_classes: int = 0
) -> tuple[nn.Module, nn.Module]:
    """Return (encoder, decoder) for an architecture name and an observation shape (H, W, C); with
    `condition_classes` K > 0 both networks take a one-hot class as well (a conditional VAE).

    mlp64: Higgins et al. 2017 Appendix A (2D shapes): encoder 4096-1200-1200 (ReLU) -> 2 d;
        decoder d-1200-1200-1200-4096 with tanh activations.
    mlp64-narrow: the mlp64 layout with 400 hidden units per layer instead of 1200 (about 4x fewer
        multiply-adds per image): the CPU recipe of benchmarks/NOTES.md, which disentangles dSprites in
        fewer seconds of training than mlp64, not in fewer images.
    conv64: ConvEncoder / ConvDecoder.
    mlp28: encoder 784-400-400 (ReLU) -> 2 d; decoder d-400-400-784 (ReLU), for 28x28 MNIST/EMNIST.
    """
    if len(observation_shape) != 3 or not all(isinstance(s, int) and s >= 1 for s in observation_shape):
        raise ConfigError(f"observation_shape must be (H, W, C) positive integers, got {observation_shape!r}")
    h, w, c = observation_shape
    size = _EXPECTED_SIZE.get(architecture)
    if size is None:
        raise ConfigError(
            f"model.architecture: unknown architecture {architecture!r}; expected one of {', '.join(_EXPECTED_SIZE)}"
        )
    if (h, w) != (size, size):
        raise ConfigError(
            f"model.architecture {architecture!r} expects {size}x{size} images, "
            f"got observation_shape {tuple(observation_shape)}"
        )
    chw = (c, h, w)
    k = condition_classes
    pixels, code = c * h * w + k, latent_dim + k  # the encoder's and the decoder's inputs
    if architecture == "mlp64":
        return (
            MLPEncoder(pixels, (1200, 1200), latent_dim),
            MLPDecoder(code, (1200, 1200, 1200), chw, nn.Tanh),
        )
    if architecture == "mlp64-narrow":
        width = NARROW_WIDTH
        return (
            MLPEncoder(pixels, (width, width), latent_dim),
            MLPDecoder(code, (width, width, width), chw, nn.Tanh),
        )
    if architecture == "mlp28":
        return (MLPEncoder(pixels, (400, 400), latent_dim), MLPDecoder(code, (400, 400), chw, nn.ReLU))
    return ConvEncoder(c + k, latent_dim), ConvDecoder(c, code)
