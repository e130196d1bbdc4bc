"""Training throughput: the engine's real step against a plain PyTorch loop, in the same run.

Each case builds the model, objective and optimiser the way `betavae.training.engine.train` does and
times :class:`~betavae.training.step.TrainStep` on batches from :class:`~betavae.training.step.BatchSampler`
(images resident on the device, batches gathered by index), so the figure is the engine's own.
Cases (mlp64: Higgins et al. 2017 Appendix A; mlp64-narrow: its layout with 400 units, the CPU default;
conv64: Burgess et al. 2018 Sec. 4):

- `engine`: the run's defaults (`precision: auto`, fused optimiser, binary fast path for mlp64);
- `engine fp32`: the same in float32, which isolates what bf16 buys;
- `engine dense`: mlp64 without the binary fast path;
- `engine tcvae`: the beta-TCVAE objective (the default recipe's: mlp64-narrow at batch 256), whose
  log q(z) estimator runs a fused forward and backward over the (M, M, d) pairs;
- `tcvae unfused`: the same with the plain autograd estimator it replaced
  (`total_correlation.estimate_log_qz_unfused`);
- `previous engine`: float32, the unfused Adam update and the default allocator: the engine before
  this benchmark existed;
- `plain loop`: the baseline a user would write: a dense MLP of the same shape in `nn.Sequential`,
  float32, `torch.optim.Adam` with its defaults, index batches from an in-memory uint8 tensor.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.flops import training_flops_per_image
from benchmarks.timing import median_rate
from betavae.data.dsprites import render
from betavae.models import ModelConfig, build_model, build_objective, objective_config, total_correlation
from betavae.training.allocator import keep_freed_memory
from betavae.training.device import autocast_dtype
from betavae.training.step import BatchSampler, TrainStep, make_optimizer

DSPRITES_SIZES = (3, 6, 40, 32, 32)
LATENTS = 10
BETA = 4.0
LR = 5e-4


def dsprites_sample(n: int, seed: int = 0) -> np.ndarray:
    """n dSprites images with uniformly drawn factors: uint8 (n, 64, 64, 1) in {0, 1}."""
    rng = np.random.default_rng(seed)
    classes = np.stack([rng.integers(0, s, size=n) for s in DSPRITES_SIZES], axis=1)
    return render(classes)[..., None]


def engine_case(
    images: np.ndarray,
    arch: str,
    batch: int,
    device: torch.device,
    *,
    precision: str = "auto",
    fast_path: bool = True,
    fused: bool = True,
    objective_name: str = "beta_vae",
    quick: bool,
) -> dict[str, Any]:
    """Images/s of the engine's step for one configuration, with its FLOPs per image."""
    torch.manual_seed(0)
    model = build_model(ModelConfig(arch, LATENTS), tuple(images.shape[1:])).to(device)
    if hasattr(model.encoder, "first"):
        model.encoder.first.binary_fast_path = fast_path
    objective = build_objective(objective_config(objective_name, beta=BETA), LATENTS, len(images)).to(device)
    optimizer = (
        make_optimizer("adam", list(model.parameters()), LR, device)
        if fused
        else torch.optim.Adam(model.parameters(), lr=LR)
    )
    amp = autocast_dtype(device, precision)
    if fused and device.type == "cpu":
        keep_freed_memory()  # as train() does; the baselines and the previous engine run before this
    sampler = BatchSampler(images, 1, batch, device, seed=0)
    step = TrainStep(
        model,
        objective,
        {"model": optimizer},
        device=device,
        amp_dtype=amp,
        check_finite=device.type == "cpu",
        name=arch,
    )
    model.train()
    flops = training_flops_per_image(model, sampler.draw())
    counter = iter(range(10**9))
    rate = median_rate(
        lambda: step(sampler.draw(), next(counter)),
        batch,
        device,
        repeats=3 if quick else 5,
        target_s=0.3 if quick else 1.0,
    )
    return {
        "model": arch,
        "objective": objective_name,
        "batch": batch,
        "precision": "bf16" if amp == torch.bfloat16 else "fp32",
        "fast_path": bool(fast_path and arch.startswith("mlp")),
        "fused_optimizer": fused,
        "images_per_s": rate["per_s"],
        "images_per_cpu_s": rate["per_cpu_s"],
        "spread": [rate["per_s_min"], rate["per_s_max"]],
        "flops_per_image": flops["executed"],
        "dense_flops_per_image": flops["dense"],
        "input_density": flops["density"],
    }


@contextlib.contextmanager
def unfused_log_qz() -> Iterator[None]:
    """Within the block, beta-TCVAE estimates log q(z) with the autograd reference instead of the fused op."""
    fused = total_correlation.estimate_log_qz
    total_correlation.estimate_log_qz = total_correlation.estimate_log_qz_unfused
    try:
        yield
    finally:
        total_correlation.estimate_log_qz = fused


class PlainMLP(nn.Module):
    """The Higgins et al. 2017 MLP written the plain way: encoder 4096-1200-1200-2d, decoder d-1200x3-4096."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Linear(4096, 1200), nn.ReLU(), nn.Linear(1200, 1200), nn.ReLU(), nn.Linear(1200, 2 * LATENTS)
        )
        self.decoder = nn.Sequential(
            nn.Linear(LATENTS, 1200),
            nn.Tanh(),
            nn.Linear(1200, 1200),
            nn.Tanh(),
            nn.Linear(1200, 1200),
            nn.Tanh(),
            nn.Linear(1200, 4096),
        )


def plain_case(images: np.ndarray, batch: int, device: torch.device, *, quick: bool) -> dict[str, Any]:
    """Images/s of a plain float32 beta-VAE loop on the dense MLP (the side-by-side baseline)."""
    torch.manual_seed(0)
    net = PlainMLP().to(device)
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    data = torch.as_tensor(images).reshape(len(images), -1).to(device)
    gen = torch.Generator(device="cpu").manual_seed(0)

    def step() -> None:
        x = data[torch.randint(len(data), (batch,), generator=gen).to(device)].float()
        h = net.encoder(x)
        mu, logvar = h[:, :LATENTS], h[:, LATENTS:]
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        recon = F.binary_cross_entropy_with_logits(net.decoder(z), x, reduction="sum") / batch
        kl = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(1).mean()
        loss = recon + BETA * kl
        opt.zero_grad()
        loss.backward()
        opt.step()

    rate = median_rate(step, batch, device, repeats=3 if quick else 5, target_s=0.3 if quick else 1.0)
    return {
        "model": "plain mlp64",
        "batch": batch,
        "precision": "fp32",
        "fast_path": False,
        "fused_optimizer": False,
        "images_per_s": rate["per_s"],
        "images_per_cpu_s": rate["per_cpu_s"],
        "spread": [rate["per_s_min"], rate["per_s_max"]],
    }


def large_batch(device: torch.device) -> int:
    return 2048 if device.type == "cuda" else 256


def measure(device: torch.device, quick: bool) -> list[dict[str, Any]]:
    """Every training case; the first two rows are the plain baselines the ratios refer to."""
    images = dsprites_sample(8192 if quick else 32768)
    big = large_batch(device)
    rows: list[dict[str, Any]] = []
    # Baselines first: the engine's allocator setting (betavae.training.allocator) is process-wide.
    for batch in (64, big):
        rows.append({"case": "plain loop", **plain_case(images, batch, device, quick=quick)})
    for arch in ("mlp64", "conv64"):
        rows.append(
            {
                "case": "previous engine",
                **engine_case(images, arch, 64, device, precision="fp32", fused=False, quick=quick),
            }
        )
    for batch in (64, big):
        rows.append({"case": "engine", **engine_case(images, "mlp64", batch, device, quick=quick)})
    # the default recipe's shape (params.yaml: mlp64-narrow at batch 256; benchmarks/NOTES.md)
    rows.append({"case": "engine", **engine_case(images, "mlp64-narrow", 256, device, quick=quick)})
    tcvae = {"objective_name": "beta_tcvae", "quick": quick}
    rows.append({"case": "engine tcvae", **engine_case(images, "mlp64-narrow", 256, device, **tcvae)})
    with unfused_log_qz():
        rows.append({"case": "tcvae unfused", **engine_case(images, "mlp64-narrow", 256, device, **tcvae)})
    rows.append({"case": "engine fp32", **engine_case(images, "mlp64", 64, device, precision="fp32", quick=quick)})
    for batch in (64,) if quick else (64, big):
        rows.append(
            {"case": "engine dense", **engine_case(images, "mlp64", batch, device, fast_path=False, quick=quick)}
        )
    for batch in (64,) if quick else (64, big):
        rows.append({"case": "engine", **engine_case(images, "conv64", batch, device, quick=quick)})
    return rows
