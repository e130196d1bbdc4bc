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


def matmul_gflops(m: int, k: int, n: int, dtype: torch.dtype, device: torch.device, *, repeats: int,
                  min_seconds: float) -> float:
    """Best GFLOP/s of (m, k) @ (k, n) in `dtype` over `repeats` windows of at least `min_seconds`."""
    gen = torch.Generator(device=device).manual_seed(0)
    a = torch.randn(m, k, generator=gen, device=device).to(dtype)
    b = torch.randn(k, n, generator=gen, device=device).to(dtype)
    out = torch.empty(m, n, device=device, dtype=dtype)
    torch.mm(a, b, out=out)  # warm-up (kernel selection, page faults)
    synchronize(device)
    best = 0.0
    for _ in range(repeats):
        calls, start = 0, time.perf_counter()
        while True:
            torch.mm(a, b, out=out)
            calls += 1
            if device.type == "cuda" and calls % 16:
                continue
            synchronize(device)
            if time.perf_counter() - start >= min_seconds:
                break
        best = max(best, 2.0 * m * k * n * calls / (time.perf_counter() - start) / 1e9)
    return best


def bf16_supported(device: torch.device) -> bool:
    """Whether the device multiplies bf16 natively (CUDA with bf16, CPU with AVX512-BF16 or AMX)."""
    from betavae.training.device import cpu_has_native_bf16

    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_has_native_bf16()


def measure(device: torch.device, quick: bool) -> dict[str, Any]:
    """{"fp32": {"large": GFLOP/s, "batch64": ...}, "bf16": {...}}; bf16 only where it is native.

    On CUDA, float32 means IEEE float32 (TF32 off), the precision the float32 figures are trained in."""
    repeats, min_s = (3, 0.15) if quick else (5, 0.5)
    dtypes = {"fp32": torch.float32}
    if bf16_supported(device):
        dtypes["bf16"] = torch.bfloat16
    previous = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        return {name: {shape: round(matmul_gflops(*SHAPES[shape], dtype, device, repeats=repeats,
                                                  min_seconds=min_s), 1) for shape in SHAPES}
                for name, dtype in dtypes.items()}
    finally:
        torch.backends.cuda.matmul.allow_tf32 = previous
