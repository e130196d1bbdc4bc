"""`python -m benchmarks [--quick]`: measure betavae against this machine's limits; see the package doc.

    python -m benchmarks --quick          # < 60 s on 2 CPU cores: hardware, training, encoding, data
    python -m benchmarks                  # adds the metric suite per profile and the full dSprites stage
    python -m benchmarks --device cuda    # on a GPU worker (the default picks CUDA when present)
    python -m benchmarks --sections convergence --recipes default beta16-b256   # time to disentanglement
    python -m benchmarks --sections scale --runs 10 100 1000   # the stages after training against sweep size

Prints a table and writes `benchmarks/results/<quick|full>-<device>.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch

from benchmarks import data as data_bench
from benchmarks import evaluation, hardware, training
from benchmarks.report import format_report, summarise
from benchmarks.timing import machine

RESULTS = Path(__file__).resolve().parent / "results"
SECTIONS = ("hardware", "training", "encode", "data", "suite", "convergence", "scale")
ON_REQUEST = ("convergence", "scale")  # long: run only when named in --sections


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="the < 60 s subset (no metric suite; the dSprites stage projected from a slice of the grid)",
    )
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch intra-op threads (default: the cores free to this process)"
    )
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=None, help="run only these sections")
    parser.add_argument(
        "--dataset-dir",
        type=Path,
        default=None,
        help="a stored dSprites dataset for the metric suite (default: render the grid)",
    )
    parser.add_argument(
        "--checkpoint", type=Path, default=None, help="a trained checkpoint to encode with in the metric suite"
    )
    parser.add_argument(
        "--suite-arch",
        choices=evaluation.SUITE_ARCHITECTURES,
        default=None,
        help="without --checkpoint: time the metric suite on a random-weight encoder of "
        "this architecture (default mlp64)",
    )
    parser.add_argument(
        "--params", type=Path, default=Path("params.yaml"), help="where the metric profiles are read from"
    )
    parser.add_argument(
        "--profiles", nargs="+", default=None, help="metric profiles to time (default: every profile in --params)"
    )
    parser.add_argument(
        "--recipes",
        nargs="+",
        default=["default"],
        help="convergence: recipes to train (benchmarks/convergence.py RECIPES)",
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], help="convergence: training seeds")
    parser.add_argument("--images", type=int, default=2_000_000, help="convergence: images to train on per run")
    parser.add_argument("--every-images", type=int, default=256_000, help="convergence: images between scores")
    parser.add_argument(
        "--scores", nargs="+", default=["mig", "beta_vae"], help="convergence: scores per snapshot (mig, beta_vae)"
    )
    parser.add_argument(
        "--runs", nargs="+", type=int, default=[10, 100, 1000], help="scale: sweep sizes (configurations)"
    )
    parser.add_argument("--out", type=Path, default=None, help="the JSON file to write")
    return parser


def _device(name: str) -> torch.device:
    from betavae.errors import ConfigError
    from betavae.training.device import select_device

    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda: no CUDA device is available here (torch.cuda.is_available() is False)")
    return select_device(name)


def run(args: argparse.Namespace) -> dict[str, Any]:
    device = _device(args.device)
    threads = args.threads or (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )
    torch.set_num_threads(threads)
    sections = args.sections or [s for s in SECTIONS if s not in ON_REQUEST and not (args.quick and s == "suite")]
    result: dict[str, Any] = {
        "mode": "quick" if args.quick else "full",
        "machine": machine(device),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    started = time.perf_counter()
    if "hardware" in sections:
        result["matmul_gflops"] = hardware.measure(device, args.quick)
    if "training" in sections:
        result["training"] = training.measure(device, args.quick)
    if "encode" in sections:
        result["encode"] = evaluation.encode_rate(training.dsprites_sample(8192), device, args.quick)
    if "data" in sections:
        result["data"] = data_bench.measure(args.quick)
    if "suite" in sections:
        from betavae.config import EvaluateConfig, load_params
        from betavae.errors import ConfigError

        if args.checkpoint is not None and args.suite_arch is not None:
            raise ConfigError("give --checkpoint or --suite-arch, not both: the checkpoint names its own architecture")

        section = load_params(args.params)["evaluate"]
        profiles = {
            name: EvaluateConfig.from_dict({**section, "profile": name}).metrics
            for name in args.profiles or section.get("profiles", {})
        }
        grid = evaluation.load_grid(args.dataset_dir)
        result["metric_suite"] = evaluation.suite_times(
            grid, profiles, device, args.checkpoint, arch=args.suite_arch or "mlp64"
        )
    if "convergence" in sections:
        from benchmarks import convergence
        from betavae.config import load_params
        from betavae.errors import ConfigError

        if args.images < 1 or args.every_images < 1:
            raise ConfigError(f"--images and --every-images must be positive, got {args.images}, {args.every_images}")
        result["mode"] = "convergence"
        result["convergence"] = convergence.measure(
            load_params(args.params),
            evaluation.load_grid(args.dataset_dir),
            args.recipes,
            args.seeds,
            images=args.images,
            every_images=args.every_images,
            scores=args.scores,
            on_progress=lambda partial: _write_partial(args.out, partial),
        )
    if "scale" in sections:
        from benchmarks import scale

        result["mode"] = "scale"
        result["scale"] = scale.measure(args.runs)
    result["machine"]["load_average_end"] = round(os.getloadavg()[0], 2)
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["summary"] = summarise(result)
    return result


def _write_partial(out: Path | None, convergence: dict[str, Any]) -> None:
    """The convergence result so far, beside the final JSON (a stopped run keeps its finished seeds)."""
    from betavae.io import write_json

    path = (out or RESULTS / "convergence.json").with_suffix(".partial.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, convergence)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from betavae.errors import BetavaeError

    try:
        result = run(args)
    except BetavaeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(format_report(result))
    out = args.out or RESULTS / f"{result['mode']}-{result['machine']['device'].split(':')[0]}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=float) + "\n")
    print(f"\nwritten: {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
