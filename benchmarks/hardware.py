"""The device's measured matrix-product rate: the ceiling the training figures are held against.

The rate is the best (largest) over repeats of `a @ b` for the shapes of mlp64's widest layer: a large
batch (2048 x 4096 @ 4096 x 1200, near the device's peak) and batch 64 (64 x 4096 @ 4096 x 1200).
FLOPs of an (m x k) @ (k x n) product: 2 m k n.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from benchmarks.timing import synchronize

SHAPES = {"large": (2048, 4096, 1200), "batch64": (64, 4096, 1200)}


def matmul_gflops(
    m: int, k: int, n: int, dtype: torch.dtype, device: torch.device, *, repeats: int, min_seconds: float
) -> tuple[float, float]:
    """Best GFLOP/s of (m, k) @ (k, n) in `dtype` over `repeats` windows of at least `min_seconds`: per
    wall-clock second, and per second of this process's CPU time (on a shared CPU the second is what
    the process got; on CUDA only the first means anything)."""
    gen = torch.Generator(device=device).manual_seed(0)
    a = torch.randn(m, k, generator=gen, device=device).to(dtype)
    b = torch.randn(k, n, generator=gen, device=device).to(dtype)
    out = torch.empty(m, n, device=device, dtype=dtype)
    torch.mm(a, b, out=out)  # warm-up (kernel selection, page faults)
    synchronize(device)
    best = best_cpu = 0.0
    for _ in range(repeats):
        calls, start, cpu = 0, time.perf_counter(), time.process_time()
        while True:
            torch.mm(a, b, out=out)
            calls += 1
            if device.type == "cuda" and calls % 16:
                continue
            synchronize(device)
            if time.perf_counter() - start >= min_seconds:
                break
        flop = 2.0 * m * k * n * calls / 1e9
        best = max(best, flop / (time.perf_counter() - start))
        best_cpu = max(best_cpu, flop / max(time.process_time() - cpu, 1e-9))
    return best, best_cpu


def bf16_supported(device: torch.device) -> bool:
    """Whether the device multiplies bf16 natively (CUDA with bf16, CPU with AVX512-BF16 or AMX)."""
    from betavae.training.device import cpu_has_native_bf16

    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_has_native_bf16()


def measure(device: torch.device, quick: bool) -> dict[str, Any]:
    """{"fp32": {"large": GFLOP/s, "batch64": ..., "large_per_cpu_s": ...}, "bf16": {...}}; bf16 only where
    the device multiplies it natively.

    On CUDA, float32 means IEEE float32 (TF32 off), the precision the float32 figures are trained in."""
    repeats, min_s = (3, 0.15) if quick else (5, 0.5)
    dtypes = {"fp32": torch.float32}
    if bf16_supported(device):
        dtypes["bf16"] = torch.bfloat16
    previous = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        out: dict[str, Any] = {}
        for name, dtype in dtypes.items():
            out[name] = {}
            for shape in SHAPES:
                wall, cpu = matmul_gflops(*SHAPES[shape], dtype, device, repeats=repeats, min_seconds=min_s)
                out[name][shape] = round(wall, 1)
                out[name][f"{shape}_per_cpu_s"] = round(cpu, 1)
        return out
    finally:
        torch.backends.cuda.matmul.allow_tf32 = previous
