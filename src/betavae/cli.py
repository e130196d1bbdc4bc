"""The `betavae` command: pull, use or serve registered models, compare datasets.

    betavae pull dsprites --out model/                     # download betavae-dsprites@champion (loads offline)
    betavae pull dsprites --version 3 --out model-v3/      # or --alias challenger
    betavae encode dsprites                                # latent means of 8 dataset images, printed
    betavae encode model/ --images x.npy --out codes.npy   # a pulled folder or a dataset's registered model
    betavae decode model/ --latents codes.npy --out images.npy
    betavae serve dsprites --port 5001                     # REST endpoint (MLflow's scoring server) on 127.0.0.1
    betavae serve model/ --port 5001                       # the same for a pulled folder, offline

A wrong argument (a missing model, a truncated or pickled `.npy`, images of the wrong shape or pixel
range) ends with one `error:` line and exit status 1, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from betavae.errors import BetavaeError, DataError


class _PyfuncModel(Protocol):
    """What the commands use of a loaded model package (MLflow's `PyFuncModel`)."""

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any: ...

    def unwrap_python_model(self) -> Any: ...


def _load_images(args: argparse.Namespace, root: Path, model: _PyfuncModel) -> np.ndarray:
    """The images to encode, checked against the model's input shape and pixel range."""
    from betavae.serving.images import check_images, read_npy

    package = model.unwrap_python_model()
    shape, max_pixel_value = tuple(package.model.observation_shape), package.max_pixel_value
    if args.images:
        return check_images(
            read_npy(args.images, "--images"),
            shape,
            max_pixel_value,
            rescale=args.rescale,
            what=f"--images {args.images}",
        )
    if _is_package(args.model):
        raise DataError("--images is required with a pulled model folder (a dataset sample needs a dataset name)")
    from betavae.data.storage import load_dataset

    data = load_dataset(dataset_dir(root, args.model))
    if not 1 <= args.sample <= len(data.images):
        raise DataError(f"--sample must lie in 1..{len(data.images)} (the images of {args.model}), got {args.sample}")
    rng = np.random.default_rng(args.seed)
    return data.images[np.sort(rng.choice(len(data.images), size=args.sample, replace=False))]


def _condition(args: argparse.Namespace) -> dict[str, Any]:
    """The request's `condition` (a conditional model's class, `--condition`), or nothing."""
    return {} if args.condition is None else {"condition": args.condition}


def dataset_dir(root: Path, name: str) -> Path:
    """`<root>/data/datasets/<name>`, refusing a name that is a path (`..`, `/`) rather than a dataset name."""
    from betavae.paths import ProjectPaths

    return ProjectPaths(root).dataset(name, "dataset")


def _is_package(source: str) -> bool:
    return (Path(source) / "MLmodel").is_file()


def _model(args: argparse.Namespace) -> _PyfuncModel:
    """The model named by `args.model`: a pulled folder, or the registered model of a dataset name."""
    from betavae.serving.package import load

    root = Path(args.root).resolve()
    if not _is_package(args.model):
        dataset_dir(root, args.model)
    return load(
        args.model, root=root, alias=args.alias, version=args.version, allow_other_version=args.allow_other_version
    )


def _save_npy(array: np.ndarray, out: str) -> None:
    from betavae.io import atomic_path

    with atomic_path(Path(out)) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, array)


def cmd_pull(args: argparse.Namespace) -> int:
    from betavae.serving.package import pull, registry_uri

    root = Path(args.root).resolve()
    dataset_dir(root, args.dataset)
    out = pull(
        args.dataset,
        Path(args.out or f"betavae-{args.dataset}"),
        root=root,
        alias=args.alias,
        version=args.version,
        allow_other_version=args.allow_other_version,
    )
    print(f"pulled {registry_uri(args.dataset, args.alias, args.version)} to {out}")
    return 0


def cmd_encode(args: argparse.Namespace) -> int:
    from betavae.serving.images import check_output_path

    root = Path(args.root).resolve()
    if args.out:
        check_output_path(args.out)
    model = _model(args)
    codes = np.asarray(model.predict(_load_images(args, root, model), params=_condition(args)))
    if args.out:
        _save_npy(codes, args.out)
        print(f"wrote latent means {codes.shape} from {args.model} to {args.out}")
    else:
        print(f"# latent means from {args.model}: {codes.shape[0]} images x {codes.shape[1]} latents")
        np.savetxt(sys.stdout, codes, fmt="%9.4f")
    return 0


def cmd_decode(args: argparse.Namespace) -> int:
    from betavae.serving.images import check_output_path, read_npy

    check_output_path(args.out)
    latents = read_npy(args.latents, "--latents")
    model = _model(args)
    d = model.unwrap_python_model().model.config.latent_dim
    if latents.ndim != 2 or latents.shape[1] != d or latents.dtype.kind not in "uif" or not np.isfinite(latents).all():
        raise DataError(
            f"--latents {args.latents}: expected finite numbers of shape (n, {d}), got {latents.dtype} {latents.shape}"
        )
    images = np.asarray(model.predict(latents.astype(np.float32), params={"method": "decode", **_condition(args)}))
    _save_npy(images, args.out)
    print(f"wrote images {images.shape} decoded by {args.model} to {args.out}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from betavae.serving.server import serve

    root = Path(args.root).resolve()
    package = Path(args.model) if _is_package(args.model) else None
    if package is None:
        if Path(args.model).is_dir():
            raise DataError(f"{args.model} is a folder without an MLmodel file, not one made by `betavae pull`")
        dataset_dir(root, args.model)
    return serve(
        args.model,
        args.alias,
        root,
        host=args.host,
        port=args.port,
        package=package,
        allow_other_version=args.allow_other_version,
    )


def cmd_compare(args: argparse.Namespace) -> int:
    import json

    from betavae.data.dataset_iou import compare_datasets, write_report
    from betavae.serving.images import check_output_path

    for what, folder in (("first", args.first), ("second", args.second)):
        if not Path(folder).is_dir():
            raise DataError(f"{what}: {folder} is not a dataset folder (expected e.g. data/datasets/dsprites)")
    if args.out:
        check_output_path(args.out)
    report = compare_datasets(Path(args.first), Path(args.second), num_worst=args.worst)
    if args.out:
        write_report(report, Path(args.out))
    print(json.dumps(report, indent=2, sort_keys=True))
    return 0


def _count(text: str) -> int:
    """A command-line count: an integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


def _add_version_choice(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--alias", default=None, help="registry alias (default: champion)")
    which.add_argument("--version", type=int, default=None, help="registry version number")
    _add_trust_choice(parser)


def _add_trust_choice(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-other-version",
        action="store_true",
        help="load a package written by another betavae version with this one (its code is never run either way)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="betavae", description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=".", help="project directory holding mlflow.db and data/")
    sub = parser.add_subparsers(dest="command", required=True)

    pull = sub.add_parser("pull", help="download a registered model package to a folder (loads offline)")
    pull.add_argument("dataset")
    _add_version_choice(pull)
    pull.add_argument("--out", help="folder to write the package to (default: ./betavae-<dataset>)")
    pull.set_defaults(func=cmd_pull)

    encode = sub.add_parser("encode", help="encode images to latent means with a registered or pulled model")
    encode.add_argument("model", help="a dataset name (its registered model) or a pulled package folder")
    _add_version_choice(encode)
    encode.add_argument("--images", help=".npy of uint8 images (n, H, W[, C]); default: a sample of the dataset")
    encode.add_argument("--sample", type=int, default=8, help="number of dataset images when --images is absent")
    encode.add_argument("--seed", type=int, default=0)
    encode.add_argument("--out", help="write the means to this .npy instead of printing them")
    encode.add_argument(
        "--rescale", action="store_true", help="map 0..255 integer (or 0..1 float) images onto the model's pixel range"
    )
    encode.add_argument(
        "--condition", type=int, default=None, help="a conditional model's class for every image (model.condition_on)"
    )
    encode.set_defaults(func=cmd_encode)

    decode = sub.add_parser("decode", help="decode latents (n, d) to images with a registered or pulled model")
    decode.add_argument("model", help="a dataset name (its registered model) or a pulled package folder")
    _add_version_choice(decode)
    decode.add_argument("--latents", required=True, help=".npy of latents (n, d)")
    decode.add_argument("--out", required=True, help=".npy to write the uint8 images (n, H, W, C) to")
    decode.add_argument(
        "--condition", type=int, default=None, help="a conditional model's class for every image (model.condition_on)"
    )
    decode.set_defaults(func=cmd_decode)

    serve = sub.add_parser("serve", help="serve a registered or pulled model over REST (MLflow's scoring server)")
    serve.add_argument("model", help="a dataset name (its registered model) or a folder made by `betavae pull`")
    serve.add_argument("--alias", default="champion")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    serve.add_argument("--port", type=int, default=5001)
    _add_trust_choice(serve)
    serve.set_defaults(func=cmd_serve)

    compare = sub.add_parser("compare", help="per-image agreement of two stored datasets (e.g. dSprites)")
    compare.add_argument("first", help="the dataset to check, e.g. data/datasets/dsprites")
    compare.add_argument("second", help="the dataset taken as truth, e.g. data/datasets/dsprites_official")
    compare.add_argument("--out", help="write the JSON report here")
    compare.add_argument("--worst", type=_count, default=10, help="number of lowest-IoU images to list")
    compare.set_defaults(func=cmd_compare)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (BetavaeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # a request the model refused (an MlflowException): its one line, no traceback
        from mlflow.exceptions import MlflowException

        if not isinstance(exc, MlflowException):
            raise
        print(f"error: {exc.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
