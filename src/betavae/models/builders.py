"""Build an objective module from its config."""

from __future__ import annotations

from betavae.config.model import ObjectiveConfig
from betavae.errors import ConfigError
from betavae.models.factor_vae import FactorVAEObjective
from betavae.models.objectives import (
    BetaTCVAEObjective,
    BetaVAEObjective,
    CapacityObjective,
    ISAVAEObjective,
    Objective,
)
from betavae.models.regularised import (
    ContractiveAEObjective,
    DenoisingAEObjective,
    KSparseAEObjective,
    SparseAEObjective,
)


def build_objective(cfg: ObjectiveConfig, latent_dim: int, dataset_size: int) -> Objective:
    """Build the objective named by `cfg.objective` for a model with `latent_dim` latents trained on a
    dataset of `dataset_size` images (used by the beta-TCVAE estimators of log q(z))."""
    if not isinstance(latent_dim, int) or isinstance(latent_dim, bool) or latent_dim < 1:
        raise ConfigError(f"model.latent_dim must be >= 1, got {latent_dim!r}")
    if not isinstance(dataset_size, int) or isinstance(dataset_size, bool) or dataset_size < 1:
        raise ConfigError(f"dataset_size must be an integer >= 1, got {dataset_size!r}")
    name = cfg.objective
    if name in ("ae", "vae", "beta_vae"):
        return BetaVAEObjective(cfg)
    if name == "beta_vae_b":
        return CapacityObjective(cfg)
    if name == "beta_tcvae":
        return BetaTCVAEObjective(cfg, dataset_size)
    if name == "factor_vae":
        return FactorVAEObjective(cfg, latent_dim)
    if name == "isa_vae":
        if cfg.isa_layout is not None and sum(cfg.isa_layout) != latent_dim:
            raise ConfigError(f"train.isa_layout must sum to model.latent_dim = {latent_dim}, "
                              f"got {list(cfg.isa_layout)} (sum {sum(cfg.isa_layout)})")
        return ISAVAEObjective(cfg, latent_dim)
    if name == "denoising_ae":
        return DenoisingAEObjective(cfg)
    if name == "sparse_ae":
        return SparseAEObjective(cfg)
    if name == "k_sparse_ae":
        if cfg.sparsity_k > latent_dim:
            raise ConfigError(f"train.sparsity_k must be <= model.latent_dim = {latent_dim}, got {cfg.sparsity_k}")
        return KSparseAEObjective(cfg)
    if name == "contractive_ae":
        return ContractiveAEObjective(cfg)
    raise ConfigError(f"train.objective: unknown objective {name!r}")
