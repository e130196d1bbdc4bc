"""Time the evaluation of one trained checkpoint with each metric profile of `params.yaml`.

    python benchmarks/bench_evaluation.py models/dsprites/checkpoints/<run>/final.pt --profiles cpu reference

Reports the wall time of `betavae.evaluation.scoring.evaluate_checkpoint` (encoding, every metric of the profile
and the reconstruction measures) per repeat, and the median.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from betavae.config import EvaluateConfig, load_params
from betavae.data.storage import load_dataset
from betavae.evaluation.scoring import evaluate_checkpoint
from betavae.training.checkpoint import load_checkpoint, run_config_of


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--profiles", nargs="+", default=["cpu", "reference"])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    run = run_config_of(load_checkpoint(args.checkpoint))
    started = time.perf_counter()
    data = load_dataset(Path("data/datasets") / run.dataset)
    print(f"load {run.dataset}: {time.perf_counter() - started:.2f} s")
    section = load_params(args.params)["evaluate"]
    for profile in args.profiles:
        cfg = EvaluateConfig.from_dict({**section, "profile": profile})
        times, scores = [], {}
        for _ in range(args.repeats):
            started = time.perf_counter()
            scores = evaluate_checkpoint(args.checkpoint, data, cfg).scores
            times.append(time.perf_counter() - started)
        headline = {k: round(v, 3) for k, v in scores.items()
                    if k in ("beta_vae.eval_accuracy", "factor_vae.eval_accuracy", "mig.score",
                             "dci.disentanglement", "sap.score", "modularity.modularity")}
        print(f"{profile}: runs {[round(t, 1) for t in times]} s, median {statistics.median(times):.1f} s; {headline}")


if __name__ == "__main__":
    main()
