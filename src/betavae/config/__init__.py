"""Typed, validated views of `params.yaml`: one frozen dataclass per section, checked on construction.

- :mod:`~betavae.config.validation`: the one set of checks; every error names the dotted key.
- :mod:`~betavae.config.model`: `model` (architecture, latents, likelihood) and the objective's keys of `train`.
- :mod:`~betavae.config.run`: `train`, `sweep`, the per-model :class:`RunConfig`, `load_params`.
- :mod:`~betavae.config.sections`: `evaluate` (with its typed `table`), `render`, `register`.
- :mod:`~betavae.config.datasets`: one `data.datasets.<name>` entry (:class:`DatasetSpec`).
"""

from betavae.config.run import (
    RunConfig,
    SweepConfig,
    TrainConfig,
    build_run_config,
    expand_sweep,
    load_params,
)
from betavae.config.sections import (
    EvaluateConfig,
    RegisterConfig,
    RenderConfig,
    TableConfig,
)

__all__ = ["EvaluateConfig", "RegisterConfig", "RenderConfig", "RunConfig", "SweepConfig", "TableConfig",
           "TrainConfig", "build_run_config", "expand_sweep", "load_params"]
