"""The `betavae` command: pull or serve registered models, compare datasets.

    betavae pull dsprites                       # encode 8 dataset images with betavae-dsprites@champion
    betavae pull dsprites --images x.npy --out codes.npy
    betavae serve dsprites --port 5001          # REST endpoint (MLflow's scoring server) on 127.0.0.1

A wrong argument (a missing model, a truncated or pickled `.npy`, images of the wrong shape or pixel
range) ends with one `error:` line and exit status 1, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from betavae.errors import BetavaeError, DataError


def _load_images(args: argparse.Namespace, root: Path, model: object) -> np.ndarray:
    """The images to encode, checked against the model's input shape and pixel range."""
    from betavae.serving.images import check_images, read_npy

    encoder = model.unwrap_python_model()
    shape, max_pixel_value = tuple(encoder.model.observation_shape), encoder.max_pixel_value
    if args.images:
        return check_images(read_npy(args.images, "--images"), shape, max_pixel_value, rescale=args.rescale,
                            what=f"--images {args.images}")
    from betavae.data.storage import load_dataset

    data = load_dataset(dataset_dir(root, args.dataset))
    if not 1 <= args.sample <= len(data.images):
        raise DataError(f"--sample must lie in 1..{len(data.images)} (the images of {args.dataset}), "
                        f"got {args.sample}")
    rng = np.random.default_rng(args.seed)
    return data.images[np.sort(rng.choice(len(data.images), size=args.sample, replace=False))]


def dataset_dir(root: Path, name: str) -> Path:
    """`<root>/data/datasets/<name>`, refusing a name that is a path (`..`, `/`) rather than a dataset name."""
    from betavae.paths import ProjectPaths

    return ProjectPaths(root).dataset(name, "dataset")


def cmd_pull(args: argparse.Namespace) -> int:
    from betavae.serving.images import check_output_path
    from betavae.tracking.registry import load_encoder, model_uri

    root = Path(args.root).resolve()
    dataset_dir(root, args.dataset)
    if args.out:
        check_output_path(args.out)
    model = load_encoder(args.dataset, args.alias, root)
    images = _load_images(args, root, model)
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
    from betavae.serving.server import serve

    root = Path(args.root).resolve()
    dataset_dir(root, args.dataset)
    return serve(args.dataset, args.alias, root, host=args.host, port=args.port)


def cmd_compare(args: argparse.Namespace) -> int:
    import json

    from betavae.data.compare import compare_datasets, write_report
    from betavae.serving.images import check_output_path

    for what, folder in (("first", args.first), ("second", args.second)):
        if not Path(folder).is_dir():
            raise DataError(f"{what}: {folder} is not a dataset folder (expected e.g. data/datasets/dsprites)")
    if args.out:
        check_output_path(args.out)
    report = compare_datasets(Path(args.first), Path(args.second))
    if args.out:
        write_report(report, Path(args.out))
    print(json.dumps(report, indent=2, sort_keys=True))
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
    pull.add_argument("--rescale", action="store_true",
                      help="map 0..255 integer (or 0..1 float) images onto the model's pixel range")
    pull.set_defaults(func=cmd_pull)

    serve = sub.add_parser("serve", help="serve a registered model over REST (mlflow models serve)")
    serve.add_argument("dataset")
    serve.add_argument("--alias", default="champion")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
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
    except (BetavaeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
