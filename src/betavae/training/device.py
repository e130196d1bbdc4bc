"""Pick the torch device and the autocast precision for a run."""

from __future__ import annotations

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


def autocast_dtype(device: torch.device, precision: str) -> torch.dtype | None:
    """bf16 autocast on CUDA by default (`auto`), full precision elsewhere unless `bf16` is asked for."""
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    return torch.bfloat16 if device.type == "cuda" else None


def describe(device: torch.device) -> str:
    """A human-readable device name for run tags, e.g. `cuda:NVIDIA H100` or `cpu`."""
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    return device.type
