"""The MLflow model a run logs: the pyfunc package of :mod:`betavae.serving.betavae_model` (encode, decode,
reconstruct), logged as code plus the run's weights-only checkpoint (nothing pickled, no optimiser state)."""

from __future__ import annotations

import contextlib
import json
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from betavae.data._zstd_npy import sha256_file
from betavae.errors import DataError

MODEL_ARTIFACT = "model"
MANIFEST = "betavae_manifest.json"
MANIFEST_FORMAT = 1  # the package's `betavae` version and weights digest, checked on every load
PACKAGE_DIR = Path(__file__).resolve().parent.parent
MODEL_FILE = PACKAGE_DIR / "serving" / "betavae_model.py"
NO_CONDITION = -1  # the `condition` of a request to an unconditional model


def model_signature() -> Any:
    """The package's signature: a `method` parameter (encode | decode | reconstruct) and a conditional
    model's `condition`, the class every image of the request is encoded or decoded with (-1: none).

    Encode takes uint8 images (n, H, W, C) and decode float latents (n, d): one tensor schema cannot
    describe both, so the shapes are written into the model's metadata and checked by the model itself.
    """
    from mlflow.models import ModelSignature
    from mlflow.types import ParamSchema, ParamSpec

    return ModelSignature(
        params=ParamSchema([ParamSpec("method", "string", "encode"), ParamSpec("condition", "long", NO_CONDITION)])
    )


#: The distributions the package's code imports when it loads (torch and numpy for the model, mlflow for
#: pyfunc, the rest through `betavae`'s own imports).
REQUIREMENTS = ("torch", "numpy", "pandas", "pyarrow", "pyyaml", "tqdm", "mlflow")


def pinned_requirements() -> list[str]:
    """`name==version` for each of :data:`REQUIREMENTS` as installed here, the versions that trained the
    model, so `mlflow models build-docker` or `--env-manager virtualenv` rebuild that environment and not
    whatever is newest. A local build tag (`2.13.0+cpu`) is dropped: the index decides the build."""
    from importlib.metadata import version

    return [f"{name}=={version(name).split('+')[0]}" for name in REQUIREMENTS]


def log_model_package(run_id: str, weights: Path, example: np.ndarray, latent_dim: int) -> str:
    """Log the pyfunc package (code + inference-only weights + manifest) to `run_id`; returns its model URI.

    The code is there for MLflow's own tools (`mlflow models serve`); `betavae` loads the package from
    its weights and manifest with installed code only (:mod:`betavae.serving.trusted`)."""
    import mlflow

    manifest = write_manifest(weights, weights.with_name(MANIFEST))
    shape = ", ".join(str(int(s)) for s in example.shape[1:])
    # MLflow loads the package to check the input example and leaves its temporary code folder on
    # sys.path; kept, a sweep's N-th run would search N deleted folders at every package lookup
    # (measured: 2.2 s a run at N = 900, quadratic in the sweep's size), so sys.path is put back.
    search_path = list(sys.path)
    with mlflow.start_run(run_id=run_id), warnings.catch_warnings(), _restored(search_path):
        warnings.filterwarnings("ignore", message=".*type hint.*", category=UserWarning)
        info = mlflow.pyfunc.log_model(
            name=MODEL_ARTIFACT,
            python_model=str(MODEL_FILE),
            artifacts={"weights": str(weights), "manifest": str(manifest)},
            code_paths=[str(PACKAGE_DIR)],
            signature=model_signature(),
            input_example=(example, {"method": "encode"}),
            metadata={
                "encode_input": f"uint8 images (n, {shape})",
                "encode_output": f"float32 latent means (n, {latent_dim})",
                "decode_input": f"float32 latents (n, {latent_dim})",
                "decode_output": f"uint8 images (n, {shape})",
            },
            pip_requirements=pinned_requirements(),
        )
    manifest.unlink()
    return info.model_uri


@contextlib.contextmanager
def _restored(search_path: list[str]) -> Iterator[None]:
    """Put `sys.path` back to `search_path` when the block ends."""
    try:
        yield
    finally:
        sys.path[:] = search_path


def write_manifest(weights: Path, out: Path) -> Path:
    """The manifest of a package about to be logged: this library's version and the weights' digest."""
    import betavae

    out.write_text(
        json.dumps(
            {"format": MANIFEST_FORMAT, "betavae_version": betavae.__version__, "weights_sha256": sha256_file(weights)},
            indent=1,
        )
        + "\n"
    )
    return out


def _artifact(folder: Path, meta: dict[str, Any], name: str) -> Path:
    """The local path of artifact `name` as `MLmodel` records it, which must stay inside `folder`."""
    try:
        relative = meta["flavors"]["python_function"]["artifacts"][name]["path"]
    except (KeyError, TypeError):
        raise DataError(f"{folder}: MLmodel names no `{name}` artifact; not a betavae model package") from None
    path = (folder / relative).resolve()
    if not path.is_relative_to(folder.resolve()) or not path.is_file():
        raise DataError(f"{folder}: the `{name}` artifact {relative!r} is not a file inside the package")
    return path


def check_manifest(folder: Path, allow_other_version: bool = False) -> Path:
    """Check `folder`'s manifest against its weights and this library; returns the weights' path.

    DataError, in one line, for a package without a manifest (written before manifests existed), a
    manifest that is not this format, weights whose digest differs from the manifest's, or a package
    written by another `betavae` version (unless `allow_other_version`).
    """
    import betavae

    folder = Path(folder)
    try:
        meta = yaml.safe_load((folder / "MLmodel").read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise DataError(f"{folder}: cannot read its MLmodel file: {exc}") from None
    weights = _artifact(folder, meta, "weights")
    try:
        manifest = json.loads(_artifact(folder, meta, "manifest").read_text())
    except DataError:
        raise DataError(
            f"{folder} has no {MANIFEST}: it was written by a betavae older than the manifest; register the "
            "run again with this version"
        ) from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{folder}: its {MANIFEST} is not readable JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise DataError(f"{folder}: {MANIFEST} is not a format-{MANIFEST_FORMAT} betavae manifest")
    actual = sha256_file(weights)
    if actual != manifest.get("weights_sha256"):
        raise DataError(
            f"{folder}: the weights' SHA-256 {actual[:16]}... differs from the manifest's "
            f"{str(manifest.get('weights_sha256'))[:16]}...; the package was altered after it was logged"
        )
    written_by = manifest.get("betavae_version")
    if written_by != betavae.__version__ and not allow_other_version:
        raise DataError(
            f"{folder} was written by betavae {written_by}, this is betavae {betavae.__version__}; load it with "
            "the version that wrote it, or pass --allow-other-version to load it with this one"
        )
    return weights
