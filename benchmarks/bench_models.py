"""Throughput of the model architectures on this machine's CPU: images per second for a training step
(forward + backward + Adam step of the beta-VAE objective) and for encoding (no gradient), batch 64.

Each figure is the median over `--repeats` timed runs of `--steps` batches, after one warm-up run.
mlp64 is timed on rendered dSprites images (binary, about 3-10 % white pixels) with and without the
embedding_bag fast path of its first layer.

    python benchmarks/bench_models.py [--threads 1] [--repeats 7] [--steps 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from betavae.data.dsprites import render
from betavae.models import ModelConfig, ObjectiveConfig, build_model, build_objective

BATCH = 64
DSPRITES_SIZES = (3, 6, 40, 32, 32)


def dsprites_batch(n: int, rng: np.random.Generator) -> torch.Tensor:
    classes = np.stack([rng.integers(0, s, size=n) for s in DSPRITES_SIZES], axis=1)
    return torch.from_numpy(render(classes)).float().unsqueeze(1)  # (n, 1, 64, 64) in {0, 1}


def median_rate(fn: Callable[[], None], steps: int, repeats: int) -> float:
    """Median images/s over `repeats` runs of `steps` calls of fn (each call handles BATCH images)."""
    fn()  # warm-up
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            fn()
        rates.append(steps * BATCH / (time.perf_counter() - start))
    return statistics.median(rates)


def bench_case(arch: str, shape: tuple[int, int, int], x: torch.Tensor, fast_path: bool | None,
               steps: int, repeats: int) -> dict[str, float | str]:
    torch.manual_seed(0)
    model = build_model(ModelConfig(arch, 10), shape)
    if fast_path is not None:
        model.encoder.first.binary_fast_path = fast_path
    objective = build_objective(ObjectiveConfig("beta_vae", beta=4.0), 10, 737_280)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)

    def train_step() -> None:
        loss = objective(model, x, 0)["total"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def encode() -> None:
        with torch.no_grad():
            model.encode(x)

    name = arch + ("" if fast_path is None else (" fast-path" if fast_path else " dense"))
    return {"case": name, "channels": shape[2],
            "train_images_per_s": median_rate(train_step, steps, repeats),
            "encode_images_per_s": median_rate(encode, steps * 4, repeats)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--json", default=None, help="also write the results to this file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    sprites = dsprites_batch(BATCH, rng)
    grey3 = torch.rand(BATCH, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    digits = torch.rand(BATCH, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    cases = [
        ("mlp64", (64, 64, 1), sprites, True),
        ("mlp64", (64, 64, 1), sprites, False),
        ("conv64", (64, 64, 1), sprites, None),
        ("conv64", (64, 64, 3), grey3, None),
        ("mlp28", (28, 28, 1), digits, None),
    ]
    results = [bench_case(a, s, x, f, args.steps, args.repeats) for a, s, x, f in cases]
    print(f"torch {torch.__version__}, {args.threads} thread(s), batch {BATCH}, "
          f"median of {args.repeats}; dSprites white-pixel fraction {sprites.mean().item():.3f}")
    print(f"{'case':<18}{'C':>3}{'train img/s':>14}{'encode img/s':>15}")
    for r in results:
        print(f"{r['case']:<18}{r['channels']:>3}{r['train_images_per_s']:>14.0f}{r['encode_images_per_s']:>15.0f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"threads": args.threads, "batch": BATCH, "results": results}, fh, indent=2)


if __name__ == "__main__":
    main()
