"""The paper-scale run of Higgins et al. 2017 Fig. 5 (left): its parameters, and its committed result.

A paper-scale profile (`configs/higgins2017-fig5.yaml`) is merged into `params.yaml` with :func:`merge`;
once the experiment has run, :func:`betavae.report.results_docs.write_results_doc` commits its result
files and tables under `docs/results/`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with every key of `override` replaced (mappings merged key by key, except `sweep.grid`)."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping) and key != "grid":
            out[key] = merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def device_name() -> str:
    """The first CUDA device's name, or a note that there is none."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return "CPU (no CUDA device)"
