"""The paper-scale run of Higgins et al. 2017 Fig. 5 (left): its parameters, and its committed result.

A paper-scale profile (`configs/higgins2017-fig5.yaml`) is merged into `params.yaml` with :func:`merge`;
once the experiment has run, :func:`write_results_doc` copies the dataset's `metrics/<dataset>/table.md`
to `docs/results/<dataset>-fig5.md` under a header naming the command, the device and the budget.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from betavae.paths import ProjectPaths


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


def write_results_doc(paths: ProjectPaths, dataset: str, config: Mapping[str, Any], config_path: str) -> str:
    """Write `docs/results/<dataset>-fig5.md`: the dataset's table under a header naming the command that
    made it (with `config_path`), the device, the time and the budget of `config`. Returns the path."""
    table = paths.table_markdown(dataset).read_text()
    train = config.get("train", {})
    sweep = config.get("sweep", {})
    header = [
        f"# {dataset}: Higgins et al. 2017 Fig. 5 (left) at paper scale",
        "",
        f"- command: `python -m pipelines.paper_scale --config {config_path}`",
        f"- device: {device_name()}; finished {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"- budget per model: {train.get('steps')} steps x batch {train.get('batch_size')}, "
        f"{train.get('optimizer')} lr {train.get('lr')}; replicas: {len(sweep.get('seeds', []))} seeds "
        f"x {json.dumps(sweep.get('grid', {}))}",
        "",
    ]
    out = paths.results_doc(dataset)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(header) + table, encoding="utf-8")
    return str(out)
