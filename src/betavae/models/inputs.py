"""The model's input: uint8 images (B, H, W, C) in 0..max_pixel_value -> float (B, C, H, W) in [0, 1].

One conversion shared by training, inference, rendering and the reconstruction measures, so every
caller feeds the model exactly what it was trained on.
"""

from __future__ import annotations

import torch


def to_float_images(batch: torch.Tensor, max_pixel_value: int) -> torch.Tensor:
    """uint8 (B, H, W, C) -> float (B, C, H, W) in [0, 1].

    The result is a channels-last view of the converted batch (no extra copy); binary data
    (`max_pixel_value == 1`) skips the division, which would be exact anyway.
    """
    x = batch.permute(0, 3, 1, 2).float()
    return x if max_pixel_value == 1 else x.div_(max_pixel_value)


def encoder_input(batch: torch.Tensor, max_pixel_value: int, encoder: torch.nn.Module) -> torch.Tensor:
    """What `encoder` is given for uint8 images (B, H, W, C) at inference: the (B, C, H, W) uint8 view
    itself when the data are binary (`max_pixel_value == 1`) and the encoder reads binary bytes on this
    device (`reads_binary_bytes`, the mlp encoders' sparse first layer), else :func:`to_float_images`.

    Both give the same codes bit for bit; the bytes skip a float copy four times the batch's size."""
    if max_pixel_value == 1 and batch.device.type == "cpu" and getattr(encoder, "reads_binary_bytes", False):
        return batch.permute(0, 3, 1, 2)
    return to_float_images(batch, max_pixel_value)
