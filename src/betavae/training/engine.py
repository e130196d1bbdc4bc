"""The optimisation loop shared by every objective of the family.

The whole dataset stays resident on the device as uint8 and each step gathers a batch by index, so the
hot loop does no per-image Python work. Runs are seeded and deterministic on CPU, checkpoint every
`train.checkpoint_every` steps, and resume from the last checkpoint to the same final weights as an
uninterrupted run. A non-finite loss stops the run with :class:`TrainingDiverged`.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import torch
from tqdm.auto import tqdm

from betavae.config import RunConfig
from betavae.config.objectives import FactorVAEConfig
from betavae.data.ground_truth import condition_labels
from betavae.data.protocols import ImageSet
from betavae.data.split import train_rows
from betavae.errors import ConfigError, TrainingDiverged
from betavae.models import build_model, build_objective
from betavae.paths import LAST_STATE_FILE, SNAPSHOTS_DIR, snapshot_file
from betavae.training.allocator import keep_freed_memory
from betavae.training.checkpoint import load_checkpoint, save_checkpoint, save_snapshot
from betavae.training.device import autocast_dtype, select_device
from betavae.training.step import (
    BatchSampler,
    TrainStep,
    make_optimizer,
    scalar_terms,
)

__all__ = ["MetricsCallback", "SnapshotCallback", "TrainResult", "train"]

MetricsCallback = Callable[[dict[str, float], int], None]
SnapshotCallback = Callable[[torch.nn.Module, int], None]
"""Called with the model (in evaluation mode) after each step of `snapshot_steps`; what it does to the global
torch RNG or the model's mode is undone before training goes on, so snapshots never change the weights."""


@dataclass
class TrainResult:
    """What a finished run reports: its last logged terms, throughput and final checkpoint."""

    run_name: str
    steps: int
    checkpoint: Path
    device: str
    images_per_second: float
    final_terms: dict[str, float] = field(default_factory=dict)
    resumed_from_step: int | None = None


def _rng_state(sampler: BatchSampler, device: torch.device) -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state(), "batch": sampler.get_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _restore_rng(state: dict[str, Any], sampler: BatchSampler, device: torch.device) -> None:
    # Generator states are CPU byte tensors, whatever device the checkpoint was mapped to.
    torch.set_rng_state(state["torch"].cpu())
    sampler.set_state(state["batch"].cpu())
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"].cpu(), device)


def _snapshot(model: torch.nn.Module, step: int, on_snapshot: SnapshotCallback, device: torch.device) -> None:
    """Hand the model to `on_snapshot` in evaluation mode, then restore its mode and the torch RNG."""
    rng = torch.get_rng_state()
    cuda_rng = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    model.eval()
    try:
        on_snapshot(model, step)
    finally:
        model.train()
        torch.set_rng_state(rng)
        if cuda_rng is not None:
            torch.cuda.set_rng_state(cuda_rng, device)


def train(
    run: RunConfig,
    data: ImageSet,
    checkpoint_dir: Path,
    *,
    on_metrics: MetricsCallback | None = None,
    progress: bool = True,
    snapshot_steps: Collection[int] = (),
    on_snapshot: SnapshotCallback | None = None,
    on_checkpoint: Callable[[Path, int], None] | None = None,
) -> TrainResult:
    """Train one configuration on the train split of `data` (a stored ground-truth dataset with `.images`
    resident; :func:`betavae.data.split.train_rows`).

    With `on_snapshot`, the model is handed over after each step in `snapshot_steps` (scores over training,
    pictures per epoch); the weights trained are the same with or without it. The steps of
    `train.snapshots` keep inference weights in `checkpoint_dir/snapshots/` (written before the checkpoint of
    the same step, so a resumed run rewrites the same file rather than missing one).

    Resumes from `checkpoint_dir/last.pt` when it exists and was written by the same configuration on the
    same data; a checkpoint of another configuration is an error rather than being silently overwritten.
    """
    cfg = run.train
    rows = train_rows(data)  # the train split; the test rows are never drawn
    num_images = int(data.images.shape[0]) if rows is None else len(rows)
    if cfg.batch_size > num_images:
        raise ConfigError(
            f"train.batch_size ({cfg.batch_size}) is larger than the dataset {run.dataset!r} ({num_images} images "
            f"to train on{'' if rows is None else ', its test split held out'})"
        )
    device = select_device(cfg.device)
    amp_dtype = autocast_dtype(device, cfg.precision)
    if device.type == "cpu":
        keep_freed_memory()
    observation_shape = tuple(int(s) for s in data.images.shape[1:])

    labels, classes = (None, 0) if run.model.condition_on is None else condition_labels(data, run.model.condition_on)
    torch.manual_seed(cfg.seed)
    model = build_model(run.model, observation_shape, classes).to(device)
    objective = build_objective(run.objective, run.model.latent_dim, num_images).to(device)
    model_params = list(model.parameters()) + list(objective.model_parameters())
    optimizers = {"model": make_optimizer(cfg.optimizer, model_params, cfg.lr, device)}
    disc_params = list(objective.discriminator_parameters()) if hasattr(objective, "discriminator_parameters") else []
    if disc_params:
        disc_cfg = cast(FactorVAEConfig, run.objective)  # factor_vae is the objective with a discriminator
        optimizers["discriminator"] = torch.optim.Adam(
            disc_params,
            lr=disc_cfg.discriminator_lr,
            betas=(disc_cfg.discriminator_beta1, disc_cfg.discriminator_beta2),
            fused=device.type in ("cpu", "cuda") or None,
        )
    # The dataset stays resident on the device as uint8 for the whole run.
    sampler = BatchSampler(
        data.images, int(data.max_pixel_value), cfg.batch_size, device, cfg.seed, rows=rows, labels=labels
    )

    start_step = 0
    last_path = checkpoint_dir / LAST_STATE_FILE
    if last_path.exists():
        state = load_checkpoint(last_path, map_location=device)
        if state["config_digest"] != run.digest:
            raise ConfigError(
                f"{last_path} belongs to another configuration ({state['config_digest']} != "
                f"{run.digest}); remove it or use another checkpoint directory"
            )
        data_digest = str(getattr(data, "digest", ""))
        if state.get("data_digest", "") != data_digest:
            raise ConfigError(
                f"{last_path} was trained on other data ({state.get('data_digest')!r} != "
                f"{data_digest!r}); remove it or use another checkpoint directory"
            )
        model.load_state_dict(state["model"])
        objective.load_state_dict(state["objective"])
        for name, opt in optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
        _restore_rng(state["rng"], sampler, device)
        start_step = int(state["step"])

    max_pixel = sampler.max_pixel_value
    step_fn = TrainStep(
        torch.compile(model) if cfg.compile else model,
        objective,
        optimizers,
        device=device,
        amp_dtype=amp_dtype,
        check_finite=device.type == "cpu",
        name=run.name,
    )
    needs_aux = bool(getattr(objective, "needs_aux_batch", False))
    kept_steps = set(cfg.snapshot_steps())

    model.train()
    terms_f: dict[str, float] = {}
    window_start, window_images = time.perf_counter(), 0
    images_per_second = 0.0
    interactive = sys.stderr.isatty()
    bar = tqdm(
        total=cfg.steps,
        initial=start_step,
        desc=run.name,
        unit="step",
        disable=not progress,
        dynamic_ncols=True,
        mininterval=0.5 if interactive else 30.0,
    )
    step = start_step
    while step < cfg.steps:
        x, c = sampler.draw_labelled() if labels is not None else (sampler.draw(), None)
        x_aux = sampler.draw() if needs_aux else None
        terms = step_fn(x, step, x_aux, c)
        step += 1
        window_images += cfg.batch_size

        if step % cfg.log_every == 0 or step == cfg.steps:
            terms_f = scalar_terms(terms)  # the only host sync of a CUDA run, once per log step
            if not math.isfinite(terms_f["total"]):
                raise TrainingDiverged(f"{run.name}: non-finite loss {terms_f['total']} at step {step}")
            elapsed = time.perf_counter() - window_start
            images_per_second = window_images / max(elapsed, 1e-9)
            terms_f["images_per_second"] = images_per_second
            window_start, window_images = time.perf_counter(), 0
            bar.set_postfix(loss=f"{terms_f['total']:.1f}", img_s=f"{images_per_second:.0f}")
            if on_metrics is not None:
                on_metrics(terms_f, step)
        if step in kept_steps:
            save_snapshot(
                checkpoint_dir / SNAPSHOTS_DIR / snapshot_file(step),
                run=run,
                step=step,
                model=model,
                data_digest=str(getattr(data, "digest", "")),
                observation_shape=observation_shape,
                max_pixel_value=max_pixel,
                dtype=torch.bfloat16 if amp_dtype == torch.bfloat16 else torch.float32,
            )
        if step % cfg.checkpoint_every == 0 or step == cfg.steps:
            save_checkpoint(
                last_path,
                run=run,
                step=step,
                model=model,
                objective=objective,
                optimizers=optimizers,
                rng=_rng_state(sampler, device),
                data_digest=str(getattr(data, "digest", "")),
                observation_shape=observation_shape,
                max_pixel_value=max_pixel,
                metrics=terms_f,
            )
            if on_checkpoint is not None:  # e.g. share the state with other workers (betavae.tracking.runs)
                on_checkpoint(checkpoint_dir, step)
        if on_snapshot is not None and step in snapshot_steps:
            _snapshot(model, step, on_snapshot, device)
        bar.update(1)
    bar.close()
    if start_step >= cfg.steps and not terms_f:
        terms_f = dict(load_checkpoint(last_path)["metrics"])
    return TrainResult(
        run_name=run.name,
        steps=cfg.steps,
        checkpoint=last_path,
        device=str(device),
        images_per_second=images_per_second,
        final_terms=terms_f,
        resumed_from_step=start_step or None,
    )
