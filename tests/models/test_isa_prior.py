import numpy as np
import pytest
import torch
from torch.distributions import Normal

from betavae.errors import ConfigError
from betavae.models import ModelConfig, build_model, build_objective, objective_config
from betavae.models.gaussian import log_normal_diag
from betavae.models.priors import LpNestedISA, log_gamma_sample


def _orthant_quadrature(dim: int, half_width: float = 6.0, points: int = 60):
    """Gauss-Legendre nodes on the positive orthant with z = sinh(u), u in [0, half_width], so heavy tails
    are covered: (z (..., dim), weights (...)). Every density here is symmetric under sign flips of single
    coordinates, so an integral over R^dim is 2^dim times the orthant integral."""
    x, w = np.polynomial.legendre.leggauss(points)
    u = torch.tensor((x + 1.0) * half_width / 2.0)
    wu = torch.tensor(w * half_width / 2.0)
    grids = torch.meshgrid(*([u] * dim), indexing="ij")
    z = torch.stack([torch.sinh(g) for g in grids], -1)
    weight = torch.ones(z.shape[:-1], dtype=torch.float64)
    for g, wg in zip(grids, torch.meshgrid(*([wu] * dim), indexing="ij")):
        weight = weight * torch.cosh(g) * wg
    return z, weight * 2.0**dim


def _integrate(prior: LpNestedISA, dim: int):
    z, w = _orthant_quadrature(dim)
    dens = torch.exp(prior.log_prob(z)) * w
    return dens.sum().item(), z, dens


EXPONENTS = [(1.0, 2.0), (2.0, 1.0), (1.5, 3.0), (3.0, 1.5), (0.8, 1.3), (0.6, 0.6)]


@pytest.mark.parametrize(("p0", "p"), EXPONENTS)
@pytest.mark.parametrize("layout", [(2,), (1, 1), (1, 2), (3,)])
def test_density_integrates_to_one(layout, p0, p):
    total, _, _ = _integrate(LpNestedISA(layout, p0, p), sum(layout))
    assert total == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("layout", [(1,), (2, 3), (1, 1, 1, 1), (4,), (3, 1, 2)])
def test_all_exponents_two_is_the_standard_normal(layout):
    prior = LpNestedISA(layout, 2.0, 2.0)
    z = torch.randn(50, sum(layout), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert torch.allclose(prior.log_prob(z), Normal(0.0, 1.0).log_prob(z).sum(-1), atol=1e-5)


def test_density_depends_on_the_layout():
    z = torch.tensor([[0.3, -1.2, 0.7]], dtype=torch.float64)
    assert not torch.allclose(LpNestedISA((1, 2), 1.0, 3.0).log_prob(z), LpNestedISA((3,), 1.0, 3.0).log_prob(z))


@pytest.mark.parametrize(
    ("layout", "p0", "p"), [((1, 2), 1.0, 2.0), ((2, 1), 2.0, 0.8), ((3,), 1.5, 3.0), ((2,), 0.8, 1.3)]
)
def test_sampler_moments_match_the_density(layout, p0, p):
    prior = LpNestedISA(layout, p0, p)
    _, z, dens = _integrate(prior, sum(layout))
    axes = tuple(range(sum(layout)))
    mean_abs = (dens.unsqueeze(-1) * z.abs()).sum(axes)
    mean_sq = (dens.unsqueeze(-1) * z.pow(2)).sum(axes)
    s = prior.sample(60_000, torch.Generator().manual_seed(0)).double()
    assert s.shape == (60_000, sum(layout))
    assert torch.allclose(s.abs().mean(0), mean_abs, rtol=0.02)
    assert torch.allclose(s.pow(2).mean(0), mean_sq, rtol=0.04)
    assert torch.allclose(s.mean(0), torch.zeros(sum(layout), dtype=torch.float64), atol=0.03)  # symmetric


def test_sampler_is_reproducible():
    prior = LpNestedISA((2, 2), 1.3, 0.7)
    a = prior.sample(10, torch.Generator().manual_seed(4))
    b = prior.sample(10, torch.Generator().manual_seed(4))
    c = prior.sample(10, torch.Generator().manual_seed(5))
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("shape", [0.05, 0.5, 1.0, 3.0])
def test_gamma_sampler_moments(shape):
    x = log_gamma_sample(torch.full((200_000,), shape), torch.Generator().manual_seed(0)).exp()
    assert x.mean().item() == pytest.approx(shape, rel=0.02)
    assert x.var().item() == pytest.approx(shape, rel=0.05)


def test_learned_exponents_are_positive_parameters_with_gradients():
    prior = LpNestedISA((2, 2), 1.5, 0.9, learn_exponents=True)
    # Stuhmer et al. 2020 A.2: the subspace exponents are learned, the outer p0 stays where it was set
    assert {n for n, _ in prior.named_parameters()} == {"log_p"}
    assert {n for n, _ in prior.named_buffers()} == {"log_p0"}
    assert prior.p0.item() == pytest.approx(1.5) and torch.allclose(prior.p, torch.tensor([0.9, 0.9]))
    prior.log_prob(torch.randn(8, 4)).mean().backward()
    assert torch.isfinite(prior.log_p.grad).all() and (prior.log_p.grad != 0).all()


def test_isa_vae_objective():
    torch.manual_seed(0)
    model = build_model(ModelConfig("mlp28", 4), (28, 28, 1))
    x = (torch.rand(8, 1, 28, 28) < 0.3).float()
    gauss = build_objective(objective_config("isa_vae", beta=3.0, isa_layout=(2, 2)), 4, 100)
    t = gauss(model, x, 0, generator=torch.Generator().manual_seed(1))
    out = model(x, generator=torch.Generator().manual_seed(1))
    mc_kl = (log_normal_diag(out.z, out.mu, out.logvar) - Normal(0.0, 1.0).log_prob(out.z)).sum(1).mean()
    assert torch.allclose(t["kl"], mc_kl, atol=1e-4)  # p0 = p = 2 is N(0, I): Eq. 12 with a Gaussian prior
    assert torch.allclose(t["total"], t["reconstruction"] + 3.0 * t["kl"])
    learned = build_objective(
        objective_config("isa_vae", isa_layout=(1, 3), isa_p0=1.2, isa_p=0.8, isa_learn_exponents=True), 4, 100
    )
    assert len(learned.model_parameters()) == 1  # log p; p0 is fixed (A.2)
    terms = learned(model, x, 0)
    assert terms["isa_p0"].item() == pytest.approx(1.2)
    terms["total"].backward()
    assert all(p.grad is not None for p in learned.model_parameters())
    with pytest.raises(ConfigError, match="train.isa_layout must sum to model.latent_dim = 4"):
        build_objective(objective_config("isa_vae", isa_layout=(2, 3)), 4, 100)
