"""The `betavae` command: pull or serve registered models, compare datasets.

    betavae pull dsprites                       # encode 8 dataset images with betavae-dsprites@champion
    betavae pull dsprites --images x.npy --out codes.npy
    betavae serve dsprites --port 5001          # REST endpoint via `mlflow models serve`
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from betavae.errors import BetavaeError, DataError


def _load_images(args: argparse.Namespace, root: Path) -> np.ndarray:
    if args.images:
        path = Path(args.images)
        if not path.is_file():
            raise DataError(f"--images: no such file {path}")
        images = np.load(path, allow_pickle=False)
        if images.ndim == 3:
            images = images[..., None]
        return images
    from betavae.data.storage import load_dataset
    from betavae.paths import ProjectPaths

    data = load_dataset(ProjectPaths(root).dataset(args.dataset))
    rng = np.random.default_rng(args.seed)
    return data.images[np.sort(rng.choice(len(data.images), size=args.sample, replace=False))]


def cmd_pull(args: argparse.Namespace) -> int:
    from betavae.tracking.registry import load_encoder, model_uri

    root = Path(args.root).resolve()
    model = load_encoder(args.dataset, args.alias, root)
    images = _load_images(args, root)
    codes = np.asarray(model.predict(images))
    if args.out:
        from betavae.io import atomic_path

        with atomic_path(Path(args.out)) as tmp:
            with open(tmp, "wb") as fh:
                np.save(fh, codes)
        print(f"wrote latent means {codes.shape} from {model_uri(args.dataset, args.alias)} to {args.out}")
    else:
        print(f"# latent means from {model_uri(args.dataset, args.alias)}: {codes.shape[0]} images x "
              f"{codes.shape[1]} latents")
        np.savetxt(sys.stdout, codes, fmt="%9.4f")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from betavae.tracking.client import tracking_uri
    from betavae.tracking.registry import model_uri

    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri(Path(args.root))}
    cmd = ["mlflow", "models", "serve", "-m", model_uri(args.dataset, args.alias), "--env-manager", "local",
           "-h", args.host, "-p", str(args.port)]
    print(" ".join(cmd))
    return subprocess.call(cmd, env=env)


def cmd_compare(args: argparse.Namespace) -> int:
    from betavae.data.compare import compare_datasets

    report = compare_datasets(Path(args.first), Path(args.second), Path(args.out) if args.out else None)
    print(report)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="betavae", description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=".", help="project directory holding mlflow.db and data/")
    sub = parser.add_subparsers(dest="command", required=True)

    pull = sub.add_parser("pull", help="load a registered model and encode images to latent means")
    pull.add_argument("dataset")
    pull.add_argument("--alias", default="champion")
    pull.add_argument("--images", help=".npy of uint8 images (n, H, W[, C]); default: a sample of the dataset")
    pull.add_argument("--sample", type=int, default=8, help="number of dataset images when --images is absent")
    pull.add_argument("--seed", type=int, default=0)
    pull.add_argument("--out", help="write the means to this .npy instead of printing them")
    pull.set_defaults(func=cmd_pull)

    serve = sub.add_parser("serve", help="serve a registered model over REST (mlflow models serve)")
    serve.add_argument("dataset")
    serve.add_argument("--alias", default="champion")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5001)
    serve.set_defaults(func=cmd_serve)

    compare = sub.add_parser("compare", help="per-image agreement of two stored datasets (e.g. dSprites)")
    compare.add_argument("first")
    compare.add_argument("second")
    compare.add_argument("--out", help="write the JSON report here")
    compare.set_defaults(func=cmd_compare)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BetavaeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
