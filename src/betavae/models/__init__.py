"""Models and objectives: VAE architectures, the beta-VAE family of losses, priors and baselines."""

from betavae.config.model import OBJECTIVE_KEYS, ModelConfig, ObjectiveConfig
from betavae.models.builders import build_objective
from betavae.models.objectives import Objective, capacity
from betavae.models.priors import LpNestedISA
from betavae.models.vae import VAE, VAEOutput, build_model

__all__ = [
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
]
