import pytest
import torch
from torch.distributions import Bernoulli, Normal, kl_divergence

from betavae.models import ModelConfig, build_model, build_objective, objective_config


def _binary_batch(n=6, shape=(1, 64, 64), seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, *shape, generator=g) < 0.2).float()


def test_vae_objective_is_the_negative_elbo_from_torch_distributions():
    torch.manual_seed(0)
    model = build_model(ModelConfig("mlp64", 4), (64, 64, 1))
    objective = build_objective(objective_config("vae"), 4, 100)
    x = _binary_batch()
    terms = objective(model, x, step=0, generator=torch.Generator().manual_seed(11))
    out = model(x, generator=torch.Generator().manual_seed(11))  # the same z
    log_lik = Bernoulli(logits=out.recon).log_prob(x).flatten(1).sum(1)
    kl = kl_divergence(Normal(out.mu, torch.exp(0.5 * out.logvar)), Normal(0.0, 1.0)).sum(1)
    neg_elbo = (kl - log_lik).mean()
    assert torch.allclose(terms["total"], neg_elbo, rtol=1e-5)
    assert torch.allclose(terms["reconstruction"], -log_lik.mean(), rtol=1e-5)
    assert torch.allclose(terms["kl"], kl.mean(), rtol=1e-5)
    assert terms["kl_per_latent"].shape == (4,)
    assert torch.allclose(terms["kl_per_latent"].sum(), terms["kl"])


@pytest.mark.parametrize(
    ("objective", "settings", "weight"), [("ae", {}, 0.0), ("vae", {}, 1.0), ("beta_vae", {"beta": 7.0}, 7.0)]
)
def test_beta_family_total_is_recon_plus_weighted_kl(objective, settings, weight):
    torch.manual_seed(0)
    model = build_model(ModelConfig("mlp28", 3), (28, 28, 1))
    terms = build_objective(objective_config(objective, **settings), 3, 100)(model, _binary_batch(shape=(1, 28, 28)), 0)
    assert terms["kl"].item() > 0
    assert torch.allclose(terms["total"], terms["reconstruction"] + weight * terms["kl"])


def test_gaussian_likelihood_fixed_and_learned_variance():
    torch.manual_seed(0)
    x = torch.rand(3, 3, 64, 64)
    fixed = build_model(ModelConfig("conv64", 2, "gaussian"), (64, 64, 3))
    out = fixed(x)
    ref = -Normal(out.recon, 1.0).log_prob(x).flatten(1).sum(1)
    assert torch.allclose(fixed.reconstruction_nll(out.recon, x), ref, rtol=1e-5)
    learned = build_model(ModelConfig("conv64", 2, "gaussian", "learned"), (64, 64, 3))
    with torch.no_grad():
        learned.log_scale.copy_(torch.tensor([-1.0, 0.0, 0.5]))
    out = learned(x)
    scale = torch.exp(learned.log_scale).view(1, 3, 1, 1)
    ref = -Normal(out.recon, scale).log_prob(x).flatten(1).sum(1)
    assert torch.allclose(learned.reconstruction_nll(out.recon, x), ref, rtol=1e-5)
    assert "log_scale" in dict(learned.named_parameters())
