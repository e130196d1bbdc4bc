"""The model package users pull: a registered version downloaded to a folder that loads offline.

`pull` copies `models:/betavae-<dataset>@<alias>` (or `/<version>`) into a folder holding `MLmodel`, the
package code, the weights and the manifest, after checking the manifest; `load` reads a pulled folder or
a registered version with installed code only (:mod:`betavae.serving.trusted`), needing no tracking
server for a folder.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from betavae.errors import DataError, disk_full
from betavae.serving.trusted import load_package
from betavae.tracking.model_package import check_manifest
from betavae.tracking.registry import model_name, model_uri


def registry_uri(dataset: str, alias: str | None = None, version: int | None = None) -> str:
    """`models:/betavae-<dataset>@<alias>` or `models:/betavae-<dataset>/<version>` (alias champion by default)."""
    if version is not None:
        if version < 1:
            raise DataError(f"--version must be a positive integer, got {version}")
        return f"models:/{model_name(dataset)}/{version}"
    return model_uri(dataset, alias or "champion")


def download_package(uri: str, dest: Path) -> Path:
    """The package at registry `uri` downloaded under `dest`; one-line DataError when it cannot be."""
    import mlflow

    try:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(dest)))
    except (mlflow.exceptions.MlflowException, OSError) as exc:
        full = disk_full(exc, dest.parent)  # MLflow folds one copy error per file into its message
        if full is not None:
            raise full from None
        raise DataError(f"no registered model {uri}: {getattr(exc, 'message', exc)}") from exc
    if not (local / "MLmodel").is_file():
        raise DataError(f"{uri} downloaded without an MLmodel file; not a model package")
    return local


def pull(
    dataset: str,
    out: Path,
    *,
    root: Path,
    alias: str | None = None,
    version: int | None = None,
    allow_other_version: bool = False,
) -> Path:
    """Download the registered package to `out` (replaced atomically) once its manifest holds; returns `out`."""
    from betavae.tracking.client import client_for

    client_for(root)
    uri = registry_uri(dataset, alias, version)
    out = Path(out)
    if out.exists() and not (out / "MLmodel").is_file():
        raise DataError(f"--out {out} exists and is not a pulled model package; choose a new folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as tmp:
        local = download_package(uri, Path(tmp))
        check_manifest(local, allow_other_version)
        if out.exists():
            shutil.rmtree(out)
        local.rename(out)
    return out


def load(
    source: str,
    *,
    root: Path,
    alias: str | None = None,
    version: int | None = None,
    allow_other_version: bool = False,
) -> Any:
    """A pyfunc model from a pulled folder (a path holding `MLmodel`) or a dataset's registered version,
    built by installed code from the package's weights once its manifest holds."""
    path = Path(source)
    if (path / "MLmodel").is_file():
        return load_package(path, allow_other_version)
    from betavae.tracking.client import client_for

    client_for(root)
    uri = registry_uri(source, alias, version)
    with tempfile.TemporaryDirectory(prefix="betavae-load-") as tmp:
        return load_package(download_package(uri, Path(tmp)), allow_other_version)  # the weights end up in memory
