"""The hot path of training: drawing a batch and taking one optimisation step.

:class:`BatchSampler` keeps the whole dataset resident on the device as uint8 and gathers each batch by
index with a generator on the same device, so a CUDA step copies nothing from the host and waits for
nothing. :class:`TrainStep` runs the objective under the run's autocast precision, backpropagates and
steps the optimisers. The engine (:mod:`betavae.training.engine`) and the throughput benchmark
(`python -m benchmarks`) both use exactly these two classes, so the benchmark times the real step.

Precision (Micikevicius et al. 2018, "Mixed precision training", Sec. 3): under bf16 autocast only the
matrix products run in bfloat16; the networks return float32 (see :mod:`betavae.models.architectures`),
so the KL, the likelihood sums and the loss are float32, and the weights, gradients and optimiser moments
stay float32.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any

import torch

from betavae.errors import ConfigError, TrainingDiverged
from betavae.models.inputs import to_float_images

Terms = dict[str, torch.Tensor]


def make_optimizer(
    name: str, params: list[torch.nn.Parameter], lr: float, device: torch.device
) -> torch.optim.Optimizer:
    """Adam or Adagrad over `params`, with the fused single-kernel update where torch has one for the
    device (Adam: CPU and CUDA; Adagrad: CPU). The update rule is the same; on CPU the fused kernel reads
    and writes each parameter, gradient and moment once per step instead of once per elementwise op."""
    if name == "adam":
        fused = device.type in ("cpu", "cuda")
        return torch.optim.Adam(params, lr=lr, fused=fused or None)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, fused=(device.type == "cpu") or None)
    raise ConfigError(f"train.optimizer: unknown optimiser {name!r}")


class BatchSampler:
    """Uniform random batches (with replacement across batches) of a dataset resident on `device`.

    images: uint8 (N, H, W, C), a numpy array or tensor (shared, not copied, on CPU); rows: the rows batches
    are drawn from (the train split), None for every row; labels: each image's class (N,) for a conditional
    model, drawn with its image by :meth:`draw_labelled`. The index generator lives on the device and is
    seeded with `seed`; its state is part of a checkpoint, so a resumed run draws the same batches as an
    uninterrupted one.
    """

    def __init__(
        self,
        images: Any,
        max_pixel_value: int,
        batch_size: int,
        device: torch.device,
        seed: int,
        rows: Any = None,
        labels: Any = None,
    ) -> None:
        self.images = torch.as_tensor(images).to(device)
        self.labels = None if labels is None else torch.as_tensor(labels, dtype=torch.int64).to(device)
        self.rows = None if rows is None else torch.as_tensor(rows, dtype=torch.int64).to(device)
        self.num_images = int(self.images.shape[0]) if self.rows is None else int(self.rows.shape[0])
        self.max_pixel_value = int(max_pixel_value)
        self.batch_size = int(batch_size)
        self.device = device
        # CPU keeps a CPU generator (the batch sequence of earlier versions); CUDA draws on the device.
        gen_device = device if device.type == "cuda" else torch.device("cpu")
        self.generator = torch.Generator(device=gen_device).manual_seed(seed)

    def _draw_rows(self) -> torch.Tensor:
        idx = torch.randint(self.num_images, (self.batch_size,), generator=self.generator, device=self.generator.device)
        idx = idx.to(self.device)
        return idx if self.rows is None else self.rows[idx]

    def draw(self) -> torch.Tensor:
        """One batch as float (B, C, H, W) in [0, 1] on the device."""
        return to_float_images(self.images[self._draw_rows()], self.max_pixel_value)

    def draw_labelled(self) -> tuple[torch.Tensor, torch.Tensor]:
        """One batch and its images' classes: float (B, C, H, W) in [0, 1], int64 (B,), on the device; the
        same images as :meth:`draw` would give from the same generator state."""
        if self.labels is None:
            raise ValueError("this sampler holds no labels")
        rows = self._draw_rows()
        return to_float_images(self.images[rows], self.max_pixel_value), self.labels[rows]

    def get_state(self) -> torch.Tensor:
        return self.generator.get_state()

    def set_state(self, state: torch.Tensor) -> None:
        self.generator.set_state(state)


def scalar_terms(terms: Mapping[str, torch.Tensor]) -> dict[str, float]:
    """Detach a step's loss terms into floats; vectors (KL per latent) become `name.i` entries.

    One host transfer for all terms, so a CUDA log step synchronises once."""
    names, values = [], []
    for name, value in terms.items():
        value = value.detach().float()
        names += [name] if value.ndim == 0 else [f"{name}.{i}" for i in range(value.numel())]
        values.append(value.flatten())
    flat = torch.cat(values).cpu().tolist() if values else []
    return dict(zip(names, flat, strict=True))


class TrainStep:
    """forward (under autocast) -> finite check -> backward -> optimiser steps, for one batch.

    model: the VAE (or its compiled wrapper) passed to the objective; optimizers: "model" and, for
    FactorVAE, "discriminator". With `check_finite` (CPU, where it costs no device sync) a non-finite loss
    raises :class:`TrainingDiverged` before any weight changes; on CUDA the engine checks at log steps.
    """

    def __init__(
        self,
        model: Callable[..., Any],
        objective: torch.nn.Module,
        optimizers: dict[str, torch.optim.Optimizer],
        *,
        device: torch.device,
        amp_dtype: torch.dtype | None,
        check_finite: bool,
        name: str = "run",
    ) -> None:
        self.model = model
        self.objective = objective
        self.optimizers = optimizers
        self.device = device
        self.amp_dtype = amp_dtype
        self.check_finite = check_finite
        self.name = name
        self.all_optimizers = list(optimizers.values())
        self.discriminator = optimizers.get("discriminator")

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def __call__(
        self, x: torch.Tensor, step: int, x_aux: torch.Tensor | None = None, c: torch.Tensor | None = None
    ) -> Terms:
        """Take step number `step` (0-based) on batch x (B, C, H, W), with the classes c (B,) of a conditional
        model's images; returns the loss terms."""
        with self._autocast():
            if c is None:
                terms = self.objective(self.model, x, step, x_aux)
            else:
                terms = self.objective(self.model, x, step, x_aux, c=c)
        total = terms["total"]
        if self.check_finite and not bool(torch.isfinite(total)):
            main = {k: v for k, v in scalar_terms(terms).items() if "." not in k}
            raise TrainingDiverged(f"{self.name}: non-finite loss {total.item()} at step {step}; terms {main}")
        for opt in self.all_optimizers:
            opt.zero_grad(set_to_none=True)
        total.backward()
        if self.discriminator is not None:
            # The VAE's TC term also reached the discriminator; only its own loss may train it.
            self.discriminator.zero_grad(set_to_none=True)
            terms["discriminator_total"].backward()
        for opt in self.all_optimizers:
            opt.step()
        return terms
