"""A tiny model overfits one fixed batch under every objective."""

import pytest
import torch

from betavae.config.objectives import OBJECTIVES
from betavae.models import ModelConfig, build_model, build_objective, objective_config
from betavae.models.factor_vae import Discriminator, FactorVAEObjective

SETTINGS = {
    "beta_vae": {"beta": 2.0},
    "beta_vae_b": {"gamma": 10.0, "capacity_max": 5.0, "capacity_steps": 50},
    "beta_tcvae": {"beta": 4.0},
    "factor_vae": {"gamma": 5.0},
    "isa_vae": {"isa_layout": (2, 2), "isa_p0": 1.5, "isa_p": 0.8, "isa_learn_exponents": True},
    "k_sparse_ae": {"sparsity_k": 2},
}


def _batch():
    """16 binary 28x28 images: bars of varying position and width, a batch with structure to memorise."""
    x = torch.zeros(16, 1, 28, 28)
    for i in range(16):
        x[i, 0, :, (i % 8) * 3 : (i % 8) * 3 + 2 + i // 8] = 1.0
        x[i, 0, (i * 5) % 24 : (i * 5) % 24 + 4, :] = 1.0
    return x


@pytest.mark.parametrize("name", OBJECTIVES)
def test_tiny_model_overfits_a_fixed_batch(name):
    torch.manual_seed(0)
    model = build_model(ModelConfig("mlp28", 4), (28, 28, 1))
    cfg = objective_config(name, **SETTINGS.get(name, {}))
    if name == "factor_vae":  # a narrower discriminator than the paper's keeps the test fast
        objective = FactorVAEObjective(cfg, 4, Discriminator(4, hidden=64, layers=2))
    else:
        objective = build_objective(cfg, 4, 10_000)
    opt = torch.optim.Adam(list(model.parameters()) + objective.model_parameters(), lr=2e-3)
    d_params = objective.discriminator_parameters()
    opt_d = torch.optim.Adam(d_params, lr=1e-3, betas=(0.5, 0.9)) if d_params else None
    x = _batch()
    g = torch.Generator().manual_seed(0)
    history = []
    for step in range(120):
        terms = objective(model, x, step, x_aux=x if objective.needs_aux_batch else None, generator=g)
        opt.zero_grad()
        terms["total"].backward()
        if opt_d is not None:
            opt_d.zero_grad()
            terms["discriminator_total"].backward()
            opt_d.step()
        opt.step()
        history.append((terms["total"].item(), terms["reconstruction"].item()))
    (total0, recon0), (total1, recon1) = history[0], history[-1]
    assert recon0 > 300.0  # 784 pixels at about log 2 nats each before training
    assert recon1 < 0.1 * recon0
    assert total1 < 0.15 * total0
