"""The objective registry: `train.objective` name -> the :class:`~betavae.models.objectives.Objective`
class that implements it. Each class lists the configs it takes (`configs`) and builds itself from one
(`build`), so adding an objective is a config class, an objective class and one entry here."""

from __future__ import annotations

from betavae.config.objectives import OBJECTIVE_CONFIGS, ObjectiveConfig
from betavae.errors import ConfigError
from betavae.models.factor_vae import FactorVAEObjective
from betavae.models.objectives import (
    BetaTCVAEObjective,
    BetaVAEObjective,
    CapacityObjective,
    DIPVAEObjective,
    ISATCVAEObjective,
    ISAVAEObjective,
    Objective,
)
from betavae.models.regularised import (
    ContractiveAEObjective,
    DenoisingAEObjective,
    KLSparseAEObjective,
    KSparseAEObjective,
    SparseAEObjective,
)

OBJECTIVE_CLASSES: dict[str, type[Objective]] = {
    config.name: cls
    for cls in (
        BetaVAEObjective,
        CapacityObjective,
        BetaTCVAEObjective,
        FactorVAEObjective,
        ISAVAEObjective,
        ISATCVAEObjective,
        DIPVAEObjective,
        DenoisingAEObjective,
        SparseAEObjective,
        KLSparseAEObjective,
        KSparseAEObjective,
        ContractiveAEObjective,
    )
    for config in cls.configs
}
assert set(OBJECTIVE_CLASSES) == set(OBJECTIVE_CONFIGS), "every objective config needs an objective class"


def build_objective(cfg: ObjectiveConfig, latent_dim: int, dataset_size: int) -> Objective:
    """Build the objective of `cfg` for a model with `latent_dim` latents trained on a dataset of
    `dataset_size` images (used by the beta-TCVAE estimators of log q(z))."""
    if not isinstance(latent_dim, int) or isinstance(latent_dim, bool) or latent_dim < 1:
        raise ConfigError(f"model.latent_dim must be >= 1, got {latent_dim!r}")
    if not isinstance(dataset_size, int) or isinstance(dataset_size, bool) or dataset_size < 1:
        raise ConfigError(f"dataset_size must be an integer >= 1, got {dataset_size!r}")
    if cfg.name not in OBJECTIVE_CLASSES:
        raise ConfigError(f"train.objective: unknown objective {cfg.name!r}")
    return OBJECTIVE_CLASSES[cfg.name].build(cfg, latent_dim=latent_dim, dataset_size=dataset_size)
