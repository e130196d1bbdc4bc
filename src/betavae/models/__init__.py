"""Models and objectives.

- :mod:`~betavae.models.architectures` and :mod:`~betavae.models.vae`: the encoder/decoder networks and the VAE.
- :mod:`~betavae.models.inputs`: uint8 images -> the model's float input (one conversion for every caller).
- :mod:`~betavae.models.objectives`, :mod:`~betavae.models.factor_vae`, :mod:`~betavae.models.regularised`:
  the losses; :mod:`~betavae.models.registry` maps each `train.objective` name to its class.
- :mod:`~betavae.models.gaussian`, :mod:`~betavae.models.total_correlation`, :mod:`~betavae.models.priors`:
  the maths they share (Gaussian densities, the TC decomposition, the L^p-nested ISA prior).

The configs (`model:` and one per objective) are :mod:`betavae.config.model` and :mod:`betavae.config.objectives`.
"""

from betavae.config.model import ModelConfig
from betavae.config.objectives import (
    OBJECTIVE_KEYS,
    OBJECTIVES,
    ObjectiveConfig,
    objective_config,
)
from betavae.models.objectives import Objective, capacity
from betavae.models.priors import LpNestedISA
from betavae.models.registry import build_objective
from betavae.models.vae import VAE, VAEOutput, build_model

__all__ = [
    "OBJECTIVES",
    "OBJECTIVE_KEYS",
    "VAE",
    "LpNestedISA",
    "ModelConfig",
    "Objective",
    "ObjectiveConfig",
    "VAEOutput",
    "build_model",
    "build_objective",
    "capacity",
    "objective_config",
]
