"""An animated GIF of latent traversals: each active latent in turn sweeps its range and back.

The moving version of Higgins et al. 2017 Fig. 7, as peers publish it: one frame shows every seed image
decoded with one latent set to one value, and the animation cycles through every active latent (mean
KL above the active-latent threshold, :data:`betavae.config.metrics.ACTIVE_KL_NATS` nats). Frame size:
`(SCALE * W * seeds, SCALE * H + LABEL_HEIGHT)` pixels, e.g. 256 x 148 for two 64 x 64 seed images.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from betavae.config.metrics import ACTIVE_KL_NATS
from betavae.io import atomic_path
from betavae.models.inputs import to_float_images
from betavae.models.vae import VAE
from betavae.render.figure import to_intensities, to_uint8

SCALE = 2
LABEL_HEIGHT = 20
FRAME_MS = 120


def active_latents(kl: np.ndarray, threshold: float = ACTIVE_KL_NATS) -> np.ndarray:
    """Latents with KL above `threshold`, most informative first; the top latent when none is active."""
    order = np.argsort(-kl, kind="stable")
    active = order[kl[order] > threshold]
    return active if len(active) else order[:1]


@torch.no_grad()
def traversal_frames(
    model: VAE,
    seeds: np.ndarray,
    max_pixel_value: int,
    latents: np.ndarray,
    values: np.ndarray,
    kl: np.ndarray,
) -> list[Image.Image]:
    """Frames for every latent in `latents` (row r of `values` is its sweep), forth and back.

    `seeds`: uint8 (k, H, W, C). Each frame: the k decoded images side by side, scaled by SCALE, under a
    label `z<i> = <value>  (KL <kl>)`.
    """
    model.eval()
    mu, _ = model.encode(to_float_images(torch.from_numpy(seeds), max_pixel_value))  # (k, d)
    font = ImageFont.load_default()
    frames = []
    for r, latent in enumerate(latents):
        sweep = np.concatenate([values[r], values[r][-2:0:-1]])  # forth and back, no repeated ends
        for v in sweep:
            z = mu.clone()
            z[:, int(latent)] = float(v)
            pixels = to_uint8(to_intensities(model.decode(z), model.config.likelihood))  # (k, H, W, C)
            strip = np.concatenate(list(pixels), axis=1)
            strip = np.repeat(np.repeat(strip, SCALE, axis=0), SCALE, axis=1)
            mode = "L" if strip.shape[-1] == 1 else "RGB"
            body = Image.fromarray(strip[..., 0] if mode == "L" else strip, mode)
            frame = Image.new(mode, (body.width, body.height + LABEL_HEIGHT), 255 if mode == "L" else (255,) * 3)
            frame.paste(body, (0, LABEL_HEIGHT))
            ImageDraw.Draw(frame).text(
                (4, 4),
                f"z{int(latent)} = {v:+.2f}  (KL {kl[int(latent)]:.2f})",
                fill=0 if mode == "L" else (0, 0, 0),
                font=font,
            )
            frames.append(frame)
    return frames


def save_gif(frames: list[Image.Image], path: Path, frame_ms: int = FRAME_MS) -> Path:
    """Write the frames as a looping GIF, atomically."""
    with atomic_path(Path(path)) as tmp:
        frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:], duration=frame_ms, loop=0)
    return Path(path)
