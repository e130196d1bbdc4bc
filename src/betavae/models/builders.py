"""Build an objective module from its config."""

from __future__ import annotations

from betavae.errors import ConfigError
from betavae.models.config import ObjectiveConfig
from betavae.models.objectives import BetaVAEObjective, CapacityObjective, Objective


def build_objective(cfg: ObjectiveConfig, latent_dim: int, dataset_size: int) -> Objective:
    """Build the objective named by `cfg.objective` for a model with `latent_dim` latents trained on a
    dataset of `dataset_size` images (used by the beta-TCVAE estimators of log q(z))."""
    if not isinstance(latent_dim, int) or latent_dim < 1:
        raise ConfigError(f"model.latent_dim must be >= 1, got {latent_dim!r}")
    if not isinstance(dataset_size, int) or dataset_size < 1:
        raise ConfigError(f"dataset_size must be an integer >= 1, got {dataset_size!r}")
    name = cfg.objective
    if name in ("ae", "vae", "beta_vae"):
        return BetaVAEObjective(cfg)
    if name == "beta_vae_b":
        return CapacityObjective(cfg)
    raise ConfigError(f"train.objective: objective {name!r} is not available yet")
