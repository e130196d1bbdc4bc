"""Evaluation cost: encoding images/s, and the metric suite's time per model for each profile.

Encoding is timed with :func:`betavae.evaluation.inference.encode_means` (what the metrics and
`betavae pull` use) on rendered dSprites. The suite (full mode only) runs every metric of each profile of
`params.yaml` the way the `evaluate` stage does (a fresh grid code cache per model, so the total includes
the encoding the metrics need), followed by a breakdown: encoding the whole grid, then each metric on the
filled cache. The representation is a trained checkpoint's posterior mean, or a randomly initialised
encoder of the chosen architecture (mlp64 by default) with each latent rescaled to unit standard
deviation (a random encoder's means barely vary, so FactorVAE would prune every latent); the encoder's
cost does not depend on its weights.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.timing import median_rate
from betavae.evaluation.inference import encode_means, inference_batch_size
from betavae.models import ModelConfig, build_model

ENCODE_IMAGES = 8192
SUITE_ARCHITECTURES = ("mlp64", "conv64")
"""Architectures the metric suite can be timed with when no checkpoint is given (dSprites is 64x64)."""


def encode_rate(images: np.ndarray, device: torch.device, quick: bool) -> dict[str, Any]:
    """Images/s of encode_means for mlp64 and conv64 on `ENCODE_IMAGES` images per call, at the batch
    size the metrics use (`inference_batch_size`)."""
    out: dict[str, Any] = {}
    for arch in ("mlp64", "conv64"):
        torch.manual_seed(0)
        model = build_model(ModelConfig(arch, 10), tuple(images.shape[1:])).to(device).eval()
        batch = images[:ENCODE_IMAGES]
        rate = median_rate(
            lambda m=model, b=batch: encode_means(m, b, 1, device=device),
            len(batch),
            device,
            repeats=3 if quick else 5,
            target_s=0.3 if quick else 1.0,
            warmup=1,
        )
        out[arch] = {
            "images_per_s": rate["per_s"],
            "images_per_cpu_s": rate["per_cpu_s"],
            "batch": inference_batch_size(model.encoder, device),
        }
    return out


def _representation(data: Any, checkpoint: Path | None, arch: str, device: torch.device) -> tuple[Any, str, str]:
    """(representation, its description, its architecture): the checkpoint's posterior mean, or a
    random-weight `arch` encoder with unit-std latents."""
    from betavae.evaluation.inference import representation_of

    if checkpoint is not None:
        from betavae.training.checkpoint import model_from_checkpoint

        model, run = model_from_checkpoint(checkpoint)
        represent = representation_of(model.to(device), int(data.max_pixel_value), device=device)
        return represent, str(checkpoint), run.model.arch
    torch.manual_seed(0)
    model = build_model(ModelConfig(arch, 10), tuple(data.observation_shape)).to(device)
    represent = representation_of(model, int(data.max_pixel_value), device=device)
    probe = represent(data.sample(2048, np.random.default_rng(123))[1])
    scale = 1.0 / np.maximum(probe.std(axis=0), 1e-12)
    return (lambda images: represent(images) * scale), f"random-weight {arch} encoder, unit-std latents", arch


REPEAT_BELOW_S = 60.0
"""A profile whose first model took less than this is timed on `repeats` models in all."""


def suite_times(
    data: Any,
    profiles: dict[str, dict[str, Any]],
    device: torch.device,
    checkpoint: Path | None = None,
    repeats: int = 3,
    arch: str = "mlp64",
) -> dict[str, Any]:
    """Seconds per model for each metric profile, with a per-metric breakdown.

    Like the evaluate stage, which scores every model of a sweep in one process, each profile scores
    the model again with a fresh code cache: `seconds_per_model` is the median over `repeats` models
    (one model only where that first one took over `REPEAT_BELOW_S`), and `first_model_seconds` the
    first, which also pays the process's one-time start-up (kernel selection, thread pools). `arch` picks
    the random-weight encoder when no `checkpoint` is given."""
    from betavae.metrics import suite
    from betavae.metrics.cache import GridCodeCache

    represent, label, arch = _representation(data, checkpoint, arch, device)
    out: dict[str, Any] = {"representation": label, "arch": arch}
    for name, params in profiles.items():
        totals: list[float] = []
        encoded = 0
        while not totals or (len(totals) < repeats and totals[0] < REPEAT_BELOW_S):
            started = time.perf_counter()
            cache = suite.code_source(data, represent, params)
            suite.evaluate(data, cache, np.random.default_rng(0), params)
            totals.append(time.perf_counter() - started)
            encoded = int(getattr(cache, "num_encoded", -1))
        cache = GridCodeCache(data, represent)
        started = time.perf_counter()
        cache.encode_all()
        breakdown = {"encode_whole_grid": round(time.perf_counter() - started, 2)}
        for metric, settings in params.items():
            started = time.perf_counter()
            suite.evaluate(data, cache, np.random.default_rng(0), {metric: settings})
            breakdown[metric] = round(time.perf_counter() - started, 2)
        out[name] = {
            "seconds_per_model": round(statistics.median(totals), 2),
            "first_model_seconds": round(totals[0], 2),
            "models_timed": len(totals),
            "images_encoded": encoded,
            "planned_draws": suite.planned_draws(params),
            "breakdown_s": breakdown,
        }
    return out


def load_grid(dataset_dir: Path | None) -> Any:
    """A stored dataset directory when given, else procedural dSprites with its grid rendered now."""
    if dataset_dir is not None:
        from betavae.data.storage import load_dataset

        return load_dataset(dataset_dir, verify=False)
    from betavae.data.dsprites import DSprites

    data = DSprites()
    _ = data.images  # render outside the timed region (the pipeline loads it from disk)
    return data
