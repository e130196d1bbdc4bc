"""Pick the torch device, the autocast precision and the CPU threads of a run."""

from __future__ import annotations

import os

import torch

from betavae.errors import ConfigError


def select_device(requested: str = "auto") -> torch.device:
    """CUDA, then MPS, then CPU when `requested` is `auto`; an unavailable explicit choice is an error."""
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device is 'cuda' but no CUDA device is available")
    if requested == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError("train.device is 'mps' but MPS is not available")
    return torch.device(requested)


def cpu_has_native_bf16() -> bool:
    """True when this CPU multiplies bfloat16 matrices in hardware (x86 AVX512-BF16 or AMX-BF16).

    Without either, oneDNN emulates bf16 products and they are slower than float32, so `auto` keeps
    float32 there."""
    checks = (getattr(torch.cpu, "_is_avx512_bf16_supported", None), getattr(torch.cpu, "_is_amx_tile_supported", None))
    return any(bool(check()) for check in checks if check is not None)


def autocast_dtype(device: torch.device, precision: str) -> torch.dtype | None:
    """The autocast dtype of a run, or None for float32 throughout.

    `auto` picks bf16 where the hardware multiplies it natively: CUDA devices with bf16 support, and CPUs
    with AVX512-BF16 or AMX (measured about 1.4-2x the float32 step of mlp64 on a 2-core Zen 4; see
    benchmarks/NOTES.md); float32 elsewhere (MPS, older CPUs). `fp32` and `bf16` force the choice.
    """
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    if device.type == "cpu" and cpu_has_native_bf16():
        return torch.bfloat16
    return None


def cores_free() -> int:
    """The cores this process may run on: its CPU affinity (what `taskset`, cgroups' cpusets and job
    schedulers restrict), or every core where the platform does not report one."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def apply_num_threads(setting: int | str) -> int:
    """Set torch's intra-op threads from `train.num_threads` / `evaluate.num_threads` (`auto` = every core
    free to the process); returns the number set.

    Stages and workers that share a machine should each get their own share: two processes each running
    as many OpenMP threads as there are cores make small-batch training several times slower."""
    threads = cores_free() if setting == "auto" else int(setting)
    torch.set_num_threads(threads)
    return threads


def describe(device: torch.device) -> str:
    """A human-readable device name for run tags, e.g. `cuda:NVIDIA H100` or `cpu`."""
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    return device.type
