import math

import torch
from torch.distributions import Normal, kl_divergence

from betavae.models.gaussian import (
    kl_normal_standard,
    log_normal_diag,
    log_standard_normal,
    reparameterise,
)


def test_kl_known_value_mu_one_logvar_zero_ten_dims_is_five():
    kl = kl_normal_standard(torch.ones(1, 10), torch.zeros(1, 10))
    assert torch.allclose(kl.sum(), torch.tensor(5.0))


def test_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(7, 5, generator=g)
    logvar = torch.randn(7, 5, generator=g)
    ref = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(torch.zeros(5), torch.ones(5)))
    assert torch.allclose(kl_normal_standard(mu, logvar), ref, atol=1e-6)


def test_log_densities_match_torch_distributions():
    g = torch.Generator().manual_seed(1)
    z, mu, logvar = torch.randn(3, 4, 6, generator=g)
    assert torch.allclose(log_normal_diag(z, mu, logvar), Normal(mu, torch.exp(0.5 * logvar)).log_prob(z), atol=1e-6)
    assert torch.allclose(log_standard_normal(z), Normal(0.0, 1.0).log_prob(z), atol=1e-6)
    assert math.isclose(log_standard_normal(torch.tensor(0.0)).item(), -0.5 * math.log(2 * math.pi), rel_tol=1e-6)


def test_reparameterise_is_reproducible_and_has_the_right_moments():
    mu = torch.full((20000, 2), 3.0)
    logvar = torch.full((20000, 2), math.log(4.0))
    z1 = reparameterise(mu, logvar, torch.Generator().manual_seed(5))
    z2 = reparameterise(mu, logvar, torch.Generator().manual_seed(5))
    assert torch.equal(z1, z2)
    assert abs(z1.mean().item() - 3.0) < 0.05
    assert abs(z1.std().item() - 2.0) < 0.05
