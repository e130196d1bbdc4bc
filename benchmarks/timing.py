"""Timing helpers shared by the benchmark sections: medians of repeats after warm-up, device syncs and
a description of the machine the figures were taken on."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch


def synchronize(device: torch.device) -> None:
    """Wait for queued device work (CUDA kernels run asynchronously); a no-op on CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_rate(
    fn: Callable[[], Any],
    items_per_call: int,
    device: torch.device,
    *,
    repeats: int = 5,
    target_s: float = 0.4,
    warmup: int = 2,
) -> dict[str, float]:
    """Items/s of `fn` (each call handles `items_per_call` items): the median over `repeats` timed
    windows of equal length, after `warmup` calls. Each window holds as many calls as fit in about
    `target_s` seconds (at least one), judged from the last warm-up call."""
    start = time.perf_counter()
    for _ in range(max(warmup, 1)):
        start = time.perf_counter()
        fn()
        synchronize(device)
    per_call = max(time.perf_counter() - start, 1e-6)
    calls = max(1, int(target_s / per_call))
    rates, cpu_rates = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(calls):
            fn()
        synchronize(device)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        rates.append(calls * items_per_call / wall)
        cpu_rates.append(calls * items_per_call / max(cpu, 1e-9))
    return {
        "per_s": statistics.median(rates),
        "per_s_min": min(rates),
        "per_s_max": max(rates),
        "per_cpu_s": statistics.median(cpu_rates),
        "calls_per_repeat": calls,
        "repeats": repeats,
    }


def timed(fn: Callable[[], Any], repeats: int) -> tuple[list[float], Any]:
    """Wall-clock seconds of `repeats` calls of `fn`, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        result = None  # let the previous result go before the next call allocates its own
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times, result


def machine(device: torch.device) -> dict[str, Any]:
    """The device, the CPU, threads and the load average: the context every figure depends on."""
    info: dict[str, Any] = {
        "device": str(device),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpu": _cpu_name(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cores_free": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average_start": round(os.getloadavg()[0], 2),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
