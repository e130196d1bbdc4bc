"""The model package users pull: a registered version downloaded to a folder that loads offline.

`pull` copies `models:/betavae-<dataset>@<alias>` (or `/<version>`) into a folder holding `MLmodel`, the
package code and the weights; `mlflow.pyfunc.load_model(folder)` then needs no tracking server.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

from betavae.errors import DataError, disk_full
from betavae.tracking.registry import model_name


def registry_uri(dataset: str, alias: str | None = None, version: int | None = None) -> str:
    """`models:/betavae-<dataset>@<alias>` or `models:/betavae-<dataset>/<version>` (alias champion by default)."""
    if version is not None:
        if version < 1:
            raise DataError(f"--version must be a positive integer, got {version}")
        return f"models:/{model_name(dataset)}/{version}"
    return f"models:/{model_name(dataset)}@{alias or 'champion'}"


def pull(dataset: str, out: Path, *, root: Path, alias: str | None = None, version: int | None = None) -> Path:
    """Download the registered package to `out` (replaced atomically); returns `out`."""
    import mlflow

    from betavae.tracking.client import client_for

    client_for(root)
    uri = registry_uri(dataset, alias, version)
    out = Path(out)
    if out.exists() and not (out / "MLmodel").is_file():
        raise DataError(f"--out {out} exists and is not a pulled model package; choose a new folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as tmp:
        try:
            local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=tmp))
        except (mlflow.exceptions.MlflowException, OSError) as exc:
            full = disk_full(exc, out.parent)  # MLflow folds one copy error per file into its message
            if full is not None:
                raise full from None
            raise DataError(f"no registered model {uri}: {getattr(exc, 'message', exc)}") from exc
        if not (local / "MLmodel").is_file():
            raise DataError(f"{uri} downloaded without an MLmodel file; not a model package")
        if out.exists():
            shutil.rmtree(out)
        local.rename(out)
    return out


def load(source: str, *, root: Path, alias: str | None = None, version: int | None = None) -> Any:
    """A pyfunc model from a pulled folder (a path holding `MLmodel`) or a dataset's registered version."""
    import mlflow

    path = Path(source)
    if (path / "MLmodel").is_file():
        uri = str(path)
    else:
        from betavae.tracking.client import client_for

        client_for(root)
        uri = registry_uri(source, alias, version)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*type hint.*", category=UserWarning)
            return mlflow.pyfunc.load_model(uri)
    except (mlflow.exceptions.MlflowException, OSError) as exc:
        raise DataError(
            f"no registered model {uri}: {getattr(exc, 'message', exc)}"
            if uri.startswith("models:")
            else f"cannot load the model package {uri}: {exc}"
        ) from exc
