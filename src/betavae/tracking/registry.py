"""The model registry: the best run of a sweep becomes `betavae-<dataset>` with an alias (`champion`).

MLflow stages are deprecated in MLflow 3; aliases (`models:/betavae-dsprites@champion`) name versions.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mlflow.tracking import MlflowClient

from betavae.errors import ConfigError, DataError
from betavae.tracking.client import client_for
from betavae.tracking.sweep_record import RunRecord


def model_name(dataset: str) -> str:
    return f"betavae-{dataset}"


def model_uri(dataset: str, alias: str = "champion") -> str:
    return f"models:/{model_name(dataset)}@{alias}"


def choose_best(runs: Sequence[RunRecord], scores: Mapping[str, Mapping[str, float]], metric: str,
                mode: str = "max") -> tuple[RunRecord, float]:
    """The finished run with the best finite `metric` (`scores` maps run name -> metric values).

    Ties go to the earlier run in sweep order, so the choice is deterministic.
    """
    candidates = []
    for order, run in enumerate(runs):
        if not run.finished:
            continue
        value = scores.get(run.name, {}).get(metric)
        if value is not None and math.isfinite(value):
            candidates.append((value if mode == "max" else -value, -order, run, value))
    if not candidates:
        known = sorted({k for s in scores.values() for k in s})
        raise ConfigError(f"register.metric {metric!r}: no finished run has this metric; available: {known}")
    _, _, best, value = max(candidates, key=lambda c: (c[0], c[1]))
    return best, value


def register(client: MlflowClient, run: RunRecord, dataset: str, *, alias: str, metric: str,
             value: float) -> dict[str, Any]:
    """Register the run's logged model as a new version of `betavae-<dataset>` and point `alias` at it."""
    import mlflow

    if not run.model_uri:
        raise DataError(f"run {run.name} has no logged model to register")
    name = model_name(dataset)
    version = mlflow.register_model(run.model_uri, name, tags={"betavae.metric": metric,
                                                                "betavae.metric_value": str(value),
                                                                "betavae.run_name": run.name})
    client.set_registered_model_alias(name, alias, version.version)
    client.update_registered_model(name, description=f"Best beta-VAE on {dataset} by {metric}.")
    return {"name": name, "version": int(version.version), "alias": alias, "run_id": run.run_id,
            "run_name": run.name, "metric": metric, "value": value, "uri": model_uri(dataset, alias)}


def load_encoder(dataset: str, alias: str = "champion", root: Path | None = None):
    """Load the registered pyfunc encoder `betavae-<dataset>@alias` (images -> latent means)."""
    import mlflow

    client_for(root or Path.cwd())
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*type hint.*", category=UserWarning)
            return mlflow.pyfunc.load_model(model_uri(dataset, alias))
    except mlflow.exceptions.MlflowException as exc:
        raise DataError(f"no registered model {model_uri(dataset, alias)}: {exc.message}") from exc
