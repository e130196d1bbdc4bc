"""The `betavae` command: pull, use or serve registered models, compare datasets.

    betavae pull dsprites --out model/                  # download betavae-dsprites@champion (offline use)
    betavae pull dsprites --version 3 --out model/
    betavae encode dsprites                             # latent means of 8 dataset images, printed
    betavae encode model/ --images x.npy --out codes.npy   # a pulled folder or a dataset's registered model
    betavae decode model/ --latents codes.npy --out images.npy
    betavae serve dsprites --port 5001                  # REST endpoint via `mlflow models serve`
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

    data = load_dataset(root / "data" / "datasets" / args.dataset)
    rng = np.random.default_rng(args.seed)
    return data.images[np.sort(rng.choice(len(data.images), size=args.sample, replace=False))]


def cmd_pull(args: argparse.Namespace) -> int:
    from betavae.serving.package import pull, registry_uri

    out = pull(args.dataset, Path(args.out), root=Path(args.root).resolve(), alias=args.alias,
               version=args.version)
    print(f"pulled {registry_uri(args.dataset, args.alias, args.version)} to {out}")
    return 0


def _model(args: argparse.Namespace) -> object:
    from betavae.serving.package import load

    return load(args.model, root=Path(args.root).resolve(), alias=args.alias, version=args.version)


def _save_npy(array: np.ndarray, out: str) -> None:
    from betavae.io import atomic_path

    with atomic_path(Path(out)) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, array)


def cmd_encode(args: argparse.Namespace) -> int:
    root = Path(args.root).resolve()
    model = _model(args)
    if not args.images and (Path(args.model) / "MLmodel").is_file():
        raise DataError("--images is required with a pulled model folder (the dataset sample needs a dataset name)")
    args.dataset = args.model
    codes = np.asarray(model.predict(_load_images(args, root)))
    if args.out:
        _save_npy(codes, args.out)
        print(f"wrote latent means {codes.shape} from {args.model} to {args.out}")
    else:
        print(f"# latent means from {args.model}: {codes.shape[0]} images x {codes.shape[1]} latents")
        np.savetxt(sys.stdout, codes, fmt="%9.4f")
    return 0


def cmd_decode(args: argparse.Namespace) -> int:
    path = Path(args.latents)
    if not path.is_file():
        raise DataError(f"--latents: no such file {path}")
    latents = np.load(path, allow_pickle=False)
    if latents.ndim != 2 or not np.issubdtype(latents.dtype, np.number):
        raise DataError(f"--latents {path}: expected a numeric array (n, d), got {latents.dtype} {latents.shape}")
    model = _model(args)
    try:
        images = np.asarray(model.predict(latents.astype(np.float32), params={"method": "decode"}))
    except ValueError as exc:
        raise DataError(f"--latents {path}: {exc}") from exc
    _save_npy(images, args.out)
    print(f"wrote images {images.shape} decoded by {args.model} to {args.out}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from betavae.registry import model_uri
    from betavae.tracking import tracking_uri

    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri(Path(args.root))}
    cmd = ["mlflow", "models", "serve", "-m", model_uri(args.dataset, args.alias), "--env-manager", "local",
           "-h", args.host, "-p", str(args.port)]
    print(" ".join(cmd))
    return subprocess.call(cmd, env=env)


def cmd_compare(args: argparse.Namespace) -> int:
    from betavae.data.importers.compare import compare_datasets

    report = compare_datasets(Path(args.first), Path(args.second), Path(args.out) if args.out else None)
    print(report)
    return 0


def _add_version_choice(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--alias", default=None, help="registry alias (default: champion)")
    which.add_argument("--version", type=int, default=None, help="registry version number")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="betavae", description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=".", help="project directory holding mlflow.db and data/")
    sub = parser.add_subparsers(dest="command", required=True)

    pull = sub.add_parser("pull", help="download a registered model package to a folder (loads offline)")
    pull.add_argument("dataset")
    _add_version_choice(pull)
    pull.add_argument("--out", required=True, help="folder to write the package to")
    pull.set_defaults(func=cmd_pull)

    encode = sub.add_parser("encode", help="encode images to latent means with a registered or pulled model")
    encode.add_argument("model", help="a dataset name (its registered model) or a pulled package folder")
    _add_version_choice(encode)
    encode.add_argument("--images", help=".npy of uint8 images (n, H, W[, C]); default: a sample of the dataset")
    encode.add_argument("--sample", type=int, default=8, help="number of dataset images when --images is absent")
    encode.add_argument("--seed", type=int, default=0)
    encode.add_argument("--out", help="write the means to this .npy instead of printing them")
    encode.set_defaults(func=cmd_encode)

    decode = sub.add_parser("decode", help="decode latents (n, d) to images with a registered or pulled model")
    decode.add_argument("model", help="a dataset name (its registered model) or a pulled package folder")
    _add_version_choice(decode)
    decode.add_argument("--latents", required=True, help=".npy of latents (n, d)")
    decode.add_argument("--out", required=True, help=".npy to write the uint8 images (n, H, W, C) to")
    decode.set_defaults(func=cmd_decode)

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
