"""Typed, validated views of `params.yaml`."""

from betavae.config.sections import (
    EvaluateConfig,
    RegisterConfig,
    RenderConfig,
    RunConfig,
    SweepConfig,
    TrainConfig,
    build_run_config,
    expand_sweep,
    load_params,
)

__all__ = ["EvaluateConfig", "RegisterConfig", "RenderConfig", "RunConfig", "SweepConfig", "TrainConfig",
           "build_run_config", "expand_sweep", "load_params"]
