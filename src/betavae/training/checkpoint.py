"""Self-describing checkpoints: weights, optimiser states, step, RNG states, config and data digest.

A checkpoint is one file written by :func:`save_checkpoint` and read by :func:`load_checkpoint` with
`torch.load(weights_only=True)`, so loading never executes pickled code; the model is rebuilt from the
saved configuration (JSON), not unpickled.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

import torch

from betavae import faults
from betavae.config import RunConfig
from betavae.errors import DataError
from betavae.io import atomic_path, replace_dir
from betavae.models import VAE, build_model
from betavae.paths import FINAL_STATE_FILE, SNAPSHOTS_DIR

FORMAT_VERSION = 1


def save_checkpoint(
    path: Path,
    *,
    run: RunConfig,
    step: int,
    model: torch.nn.Module,
    objective: torch.nn.Module,
    optimizers: dict[str, torch.optim.Optimizer],
    rng: dict[str, Any],
    data_digest: str,
    observation_shape: tuple[int, ...],
    max_pixel_value: int = 1,
    metrics: dict[str, float] | None = None,
) -> Path:
    """Write the training state atomically: a crash mid-write leaves the previous checkpoint intact."""
    payload = _payload(run, step, model, model.state_dict(), data_digest, observation_shape, max_pixel_value) | {
        "objective": objective.state_dict(),
        "optimizers": {name: opt.state_dict() for name, opt in optimizers.items()},
        "rng": rng,
        "metrics": dict(metrics or {}),
    }
    _save_atomically(payload, path)
    faults.reached("checkpoint-written")
    return path


def save_snapshot(
    path: Path,
    *,
    run: RunConfig,
    step: int,
    model: torch.nn.Module,
    data_digest: str,
    observation_shape: tuple[int, ...],
    max_pixel_value: int = 1,
    dtype: torch.dtype = torch.float32,
) -> Path:
    """Write the inference weights at `step` (`train.snapshots`), atomically, in the weights format.

    Floating-point tensors are stored in `dtype`: the engine passes bfloat16 for a run under the bf16
    autocast (half the bytes; every matrix product of that run already sees the weights rounded so), float32
    otherwise. :func:`model_from_checkpoint` loads the file like any weights, widened to the model's float32.
    """
    state = {k: v.to(dtype) if v.is_floating_point() else v for k, v in model.state_dict().items()}
    return _save_atomically(_payload(run, step, model, state, data_digest, observation_shape, max_pixel_value), path)


def _payload(
    run: RunConfig,
    step: int,
    model: torch.nn.Module,
    model_state: dict[str, Any],
    data_digest: str,
    observation_shape: tuple[int, ...],
    max_pixel_value: int,
) -> dict[str, Any]:
    """What every checkpoint file holds: the configuration, data, step and model weights (with a conditional
    model's number of classes); the training state (objective, optimisers, RNG, metrics) empty, as in
    inference weights."""
    classes = int(getattr(model, "condition_classes", 0))
    return ({"condition_classes": classes} if classes else {}) | {
        "format_version": FORMAT_VERSION,
        "config_json": json.dumps(run.to_dict(), sort_keys=True),
        "config_digest": run.digest,
        "data_digest": data_digest,
        "observation_shape": list(observation_shape),
        "max_pixel_value": int(max_pixel_value),
        "step": int(step),
        "model": model_state,
        "objective": {},
        "optimizers": {},
        "rng": {},
        "metrics": {},
    }


def _save_atomically(payload: dict[str, Any], path: Path) -> Path:
    with atomic_path(path) as tmp, tmp.open("wb") as f:
        torch.save(payload, f)  # through a Python file, so a full disk surfaces as ENOSPC, not a torch assert
    return path


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint without unpickling code; a missing or foreign file raises DataError."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises several types for truncated or foreign files
        raise DataError(f"checkpoint {path} is unreadable: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format_version") != FORMAT_VERSION:
        raise DataError(f"{path} is not a betavae checkpoint of format {FORMAT_VERSION}")
    return payload


def export_weights(checkpoint: Path, out: Path) -> Path:
    """Write an inference-only copy of `checkpoint` (no optimiser or discriminator state), atomically.

    This is what a logged model carries: about a third of the training checkpoint for Adam.
    """
    payload = load_checkpoint(checkpoint)
    payload["optimizers"] = {}
    payload["objective"] = {}
    payload["rng"] = {}
    return _save_atomically(payload, out)


def run_config_of(payload: dict[str, Any]) -> RunConfig:
    return RunConfig.from_dict(json.loads(payload["config_json"]))


def model_from_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> tuple[VAE, RunConfig]:
    """Rebuild the VAE from the saved configuration and load its weights (evaluation mode)."""
    payload = load_checkpoint(path, map_location)
    run = run_config_of(payload)
    model = build_model(run.model, tuple(payload["observation_shape"]), int(payload.get("condition_classes", 0)))
    model.load_state_dict(payload["model"])
    model.eval()
    return model, run


def seal_checkpoint(last: Path, weights: Path, keep_training_state: bool = False) -> Path:
    """Seal a finished run once its whole sweep has finished: its inference weights go to `weights`, and
    its training state `last` is removed, or kept beside it as `final_state.pt` when `keep_training_state`
    (`train.keep_checkpoints`). Its snapshots over training (`train.snapshots`) move beside the weights.

    Until then an interrupted sweep resumes every run from its `last.pt` (a finished run is not trained
    again); afterwards a re-run of the stage, for example after a code change, trains from scratch. The
    weights live apart from the training state (`models/<dataset>/weights/`, DVC-cached and pushed to the
    remote); the optimiser state never leaves the machine. Sealing twice is harmless. Returns `weights`.
    """
    if last.resolve() == weights.resolve():
        return weights
    snapshots = last.parent / SNAPSHOTS_DIR
    if snapshots.is_dir():  # before the weights: a kill in between leaves last.pt, and sealing again finishes
        weights.parent.mkdir(parents=True, exist_ok=True)
        replace_dir(snapshots, weights.parent / SNAPSHOTS_DIR)
    if last.exists():
        export_weights(last, weights)
        if keep_training_state:
            os.replace(last, last.with_name(FINAL_STATE_FILE))
        else:
            last.unlink()
            with contextlib.suppress(OSError):
                last.parent.rmdir()  # empty once the run is sealed
    if not weights.is_file():
        raise FileNotFoundError(f"cannot seal {last}: neither it nor the weights {weights} exist")
    return weights
