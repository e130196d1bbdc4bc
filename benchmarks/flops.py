"""Matrix-product FLOPs a training step executes per image, counted from the layer shapes.

A forward hook records every dense and convolutional layer's input and output shape on one real batch.
Per image and layer, with F the forward product's FLOPs (2 x multiply-adds):

- forward: F; weight gradient: F; input gradient: F, except for the first layer, whose input (the image)
  needs no gradient;
- the binary fast path of mlp64's first layer (:class:`BinaryAwareLinear`) adds the weight rows of the
  image's 1-pixels instead: `density * in * out` additions forward and as many for the weight gradient,
  where `density` is the measured fraction of 1-pixels.

Elementwise work (activations, the loss, the optimiser update) is not counted: it is memory-bound and
small beside the products, so "executed FLOPs" is the matrix-product work the ratio to the device's
matrix-product rate is about.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from betavae.models.architectures import BinaryAwareLinear


def _forward_flops(module: nn.Module, inp: torch.Tensor, out: torch.Tensor) -> float:
    """FLOPs per image of the layer's forward product."""
    if isinstance(module, (nn.Linear, BinaryAwareLinear)):
        return 2.0 * module.in_features * module.out_features
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        return 2.0 * module.in_channels // module.groups * kh * kw * math.prod(out.shape[1:])
    if isinstance(module, nn.ConvTranspose2d):
        kh, kw = module.kernel_size
        return 2.0 * module.out_channels // module.groups * kh * kw * math.prod(inp.shape[1:])
    raise TypeError(type(module).__name__)


def training_flops_per_image(model: nn.Module, x: torch.Tensor) -> dict[str, Any]:
    """{"executed": FLOPs per image of one training step as the model runs on x, "dense": the same with
    every layer dense, "density": fraction of nonzero input pixels}. x: a real batch (B, C, H, W)."""
    layers: list[tuple[nn.Module, torch.Size, torch.Size, bool, bool]] = []

    def hook(module: nn.Module, args: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        inp = args[0]
        fast = isinstance(module, BinaryAwareLinear) and module.uses_fast_path(inp)
        layers.append((module, inp.shape, out.shape, inp.requires_grad, fast))

    kinds = (nn.Linear, BinaryAwareLinear, nn.Conv2d, nn.ConvTranspose2d)
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, kinds)]
    try:
        with torch.enable_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    density = float((x != 0).float().mean())
    executed = dense = 0.0
    for module, in_shape, out_shape, input_needs_grad, fast in layers:
        f = _forward_flops(module, torch.empty(in_shape, device="meta"), torch.empty(out_shape, device="meta"))
        passes = 3.0 if input_needs_grad else 2.0
        dense += passes * f
        if fast:  # additions of the selected weight rows, forward and weight gradient
            executed += 2.0 * density * module.in_features * module.out_features
        else:
            executed += passes * f
    return {"executed": executed, "dense": dense, "density": density}
