"""Typed, validated views of `params.yaml`: one frozen dataclass per section, checked on construction.

The ground floor of the library (see :mod:`betavae`): it imports only `errors` and `paths`.

- :mod:`~betavae.config.validation`: the one set of checks; every error names the dotted key.
- :mod:`~betavae.config.model`: `model` (architecture, latents, likelihood).
- :mod:`~betavae.config.objectives`: the objective's keys of `train`, one config per objective.
- :mod:`~betavae.config.run`: `train`, `sweep`, the per-model :class:`RunConfig`, `load_params`.
- :mod:`~betavae.config.per_dataset`: `data.train_on` and the per-dataset overrides.
- :mod:`~betavae.config.sections`: `evaluate` (with its typed `table`), `render`, `register`.
- :mod:`~betavae.config.metrics`: the settings of every metric and of UDR, which `evaluate` is checked against.
- :mod:`~betavae.config.datasets`: one `data.datasets.<name>` entry (:class:`DatasetSpec`, :class:`Checksum`).
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

__all__ = [
    "EvaluateConfig",
    "RegisterConfig",
    "RenderConfig",
    "RunConfig",
    "SweepConfig",
    "TableConfig",
    "TrainConfig",
    "build_run_config",
    "expand_sweep",
    "load_params",
]
