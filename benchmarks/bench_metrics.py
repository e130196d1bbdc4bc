"""Time the metric suite on dSprites, encoding included.

    python benchmarks/bench_metrics.py --params reference --repeats 3
    python benchmarks/bench_metrics.py --params cpu --checkpoint checkpoints/<run>/model.pt

Each repeat starts from an empty code cache, so its total covers encoding the images the metrics
draw (the whole 737,280-image grid for the reference sizes) plus every metric. A breakdown follows,
measured separately: encoding the grid, then each metric on the filled cache. The representation is
the posterior mean of a trained checkpoint, or of a randomly initialised mlp64 encoder (Higgins et al.
2017, Appendix A) with each latent rescaled to unit standard deviation when none is given; the
encoder's cost does not depend on the weights, the metrics' hardly. The machine is shared, so medians
of repeats are reported with the load average.

Budgets (2 CPU cores): reference sizes <= 180 s, reduced CPU default <= 30 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from betavae.metrics import suite
from betavae.metrics.cache import GridCodeCache

BUDGET_S = {"reference": 180.0, "cpu": 30.0}


def load_data(dataset_dir: str | None) -> Any:
    """A stored dataset directory if given, else procedural dSprites with every image rendered now."""
    if dataset_dir:
        from betavae.data.storage import load_dataset

        return load_dataset(dataset_dir, verify=False)
    from betavae.data.dsprites import DSprites

    data = DSprites()
    _ = data.images  # render the grid outside the timed region (the pipeline loads it from disk)
    return data


def load_representation(checkpoint: str | None, data: Any, batch_size: int) -> tuple[Any, str]:
    from betavae.evaluation.inference import representation_of

    if checkpoint:
        from betavae.training.checkpoint import model_from_checkpoint

        model, _ = model_from_checkpoint(Path(checkpoint))
        label = f"checkpoint {checkpoint}"
    else:
        from betavae.models import ModelConfig, build_model

        torch.manual_seed(0)
        model = build_model(ModelConfig(architecture="mlp64", latent_dim=10), tuple(data.observation_shape))
        represent = representation_of(model, int(data.max_pixel_value), batch_size=batch_size)
        # A random encoder's means barely vary (std << 0.05, so FactorVAE would prune every latent and
        # skip its votes); rescale each latent to unit std on a probe so every metric does its full work.
        probe = represent(data.sample(2048, np.random.default_rng(123))[1])
        scale = 1.0 / np.maximum(probe.std(axis=0), 1e-12)
        return (lambda images: represent(images) * scale), "random-weight mlp64 encoder, 10 latents, unit-std"
    return representation_of(model, int(data.max_pixel_value), batch_size=batch_size), label


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", choices=sorted(BUDGET_S), default="reference")
    parser.add_argument("--repeats", type=int, default=3, help="0: breakdown only")
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--dataset-dir", default=None)
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads for the encoder")
    parser.add_argument("--encode-batch", type=int, default=8192)
    parser.add_argument("--no-breakdown", action="store_true")
    parser.add_argument("--out", default=None, help="also write the JSON result here")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    params = suite.REFERENCE_PARAMS if args.params == "reference" else suite.CPU_PARAMS
    started = time.perf_counter()
    data = load_data(args.dataset_dir)
    load_s = time.perf_counter() - started
    represent, label = load_representation(args.checkpoint, data, args.encode_batch)

    totals, encoded = [], []
    scores: dict[str, float] = {}
    for repeat in range(args.repeats):
        t0 = time.perf_counter()
        # Exactly what suite.evaluate does with a plain representation, keeping hold of the cache to count.
        cache = suite.code_source(data, represent, params, batch_size=args.encode_batch)
        scores = suite.evaluate(data, cache, np.random.default_rng(0), params)
        totals.append(time.perf_counter() - t0)
        encoded.append(int(getattr(cache, "num_encoded", -1)))
        print(f"repeat {repeat}: {totals[-1]:.1f} s, {cache.num_encoded} images encoded", file=sys.stderr)

    breakdown: dict[str, float] = {}
    if not args.no_breakdown:
        cache = GridCodeCache(data, represent, batch_size=args.encode_batch)
        t0 = time.perf_counter()
        cache.encode_all()
        breakdown["encode_all_images"] = time.perf_counter() - t0
        for name, settings in params.items():
            t0 = time.perf_counter()
            suite.evaluate(data, cache, np.random.default_rng(0), {name: settings})
            breakdown[name] = time.perf_counter() - t0

    result = {
        "params": args.params,
        "params_full": suite.describe(params),
        "representation": label,
        "images_in_grid": int(data.num_images),
        "planned_draws": suite.planned_draws(params),
        "images_encoded": encoded,
        "total_s": totals,
        "total_median_s": statistics.median(totals) if totals else None,
        "budget_s": BUDGET_S[args.params],
        "within_budget": statistics.median(totals) <= BUDGET_S[args.params] if totals else None,
        "breakdown_s": breakdown,
        "data_load_s_untimed": load_s,
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "load_average_end": os.getloadavg(),
        "scores": {k: v for k, v in scores.items() if ".gap." not in k},
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
