import pytest
import torch

from betavae.models import ModelConfig, build_model, build_objective, objective_config
from betavae.models.factor_vae import Discriminator, FactorVAEObjective, permute_dims


def test_discriminator_follows_kim_and_mnih():
    disc = Discriminator(10)
    linears = [m for m in disc.modules() if isinstance(m, torch.nn.Linear)]
    assert [tuple(m.weight.shape) for m in linears] == [(1000, 10)] + [(1000, 1000)] * 5 + [(2, 1000)]
    slopes = {m.negative_slope for m in disc.modules() if isinstance(m, torch.nn.LeakyReLU)}
    assert slopes == {0.2}


def test_permute_dims_shuffles_each_column_independently():
    z = torch.arange(200.0).view(100, 2)
    z[:, 1] = z[:, 0]  # both columns equal: every row is on the diagonal
    p = permute_dims(z, torch.Generator().manual_seed(0))
    for k in range(2):
        assert torch.equal(torch.sort(p[:, k]).values, z[:, k])  # same multiset per column
    assert (p[:, 0] == p[:, 1]).sum().item() < 10  # pairing broken
    assert torch.equal(p, permute_dims(z, torch.Generator().manual_seed(0)))


def _setup(discriminator=None):
    torch.manual_seed(0)
    model = build_model(ModelConfig("mlp28", 4), (28, 28, 1))
    cfg = objective_config("factor_vae", gamma=10.0)
    objective = build_objective(cfg, 4, 1000) if discriminator is None else FactorVAEObjective(cfg, 4, discriminator)
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(16, 1, 28, 28, generator=g) < 0.3).float()
    x_aux = (torch.rand(16, 1, 28, 28, generator=g) < 0.3).float()
    return model, objective, x, x_aux


def test_terms_and_gradient_routing():
    model, objective, x, x_aux = _setup()
    assert objective.needs_aux_batch
    assert objective.model_parameters() == []
    terms = objective(model, x, 0, x_aux=x_aux, generator=torch.Generator().manual_seed(2))
    assert torch.allclose(terms["total"], terms["reconstruction"] + terms["kl"] + 10.0 * terms["tc"])
    out = model(x, generator=torch.Generator().manual_seed(2))
    logits = objective.discriminator(out.z)
    assert torch.allclose(terms["tc"], (logits[:, 0] - logits[:, 1]).mean(), atol=1e-6)
    terms["total"].backward(retain_graph=True)
    assert all(p.grad is None for p in objective.discriminator_parameters())  # total leaves D alone
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad(set_to_none=True)
    terms["discriminator_total"].backward()
    assert all(p.grad is None for p in model.parameters())  # D's loss leaves the model alone
    assert all(p.grad is not None for p in objective.discriminator_parameters())


def test_missing_aux_batch_raises():
    model, objective, x, _ = _setup()
    with pytest.raises(ValueError, match="x_aux"):
        objective(model, x, 0)


def test_engine_order_two_adam_optimisers_three_steps():
    """Backprop total, then discriminator_total, then step both: no in-place autograd error, both move."""
    model, objective, x, x_aux = _setup()
    opt_model = torch.optim.Adam(list(model.parameters()) + objective.model_parameters(), lr=1e-4)
    opt_disc = torch.optim.Adam(objective.discriminator_parameters(), lr=1e-4, betas=(0.5, 0.9))
    before_model = [p.detach().clone() for p in model.parameters()]
    before_disc = [p.detach().clone() for p in objective.discriminator_parameters()]
    for step in range(3):
        terms = objective(model, x, step, x_aux=x_aux)
        opt_model.zero_grad()
        opt_disc.zero_grad()
        terms["total"].backward()
        terms["discriminator_total"].backward()
        opt_model.step()
        opt_disc.step()
        assert torch.isfinite(terms["total"]) and torch.isfinite(terms["discriminator_total"])
    assert all(not torch.equal(a, b) for a, b in zip(before_model, model.parameters()))
    assert all(not torch.equal(a, b) for a, b in zip(before_disc, objective.discriminator_parameters()))


def test_discriminator_learns_to_tell_joint_from_permuted_codes():
    """On strongly correlated codes the discriminator's loss falls below log 2 and the TC estimate turns positive."""
    torch.manual_seed(0)
    disc = Discriminator(2, hidden=64, layers=2)
    objective = FactorVAEObjective(objective_config("factor_vae"), 2, disc)
    opt = torch.optim.Adam(disc.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    for _ in range(300):
        a = torch.randn(256, 1, generator=g)
        z = torch.cat([a, a + 0.1 * torch.randn(256, 1, generator=g)], 1)
        logits_joint = disc(z)
        logits_perm = disc(permute_dims(z, g))
        loss = 0.5 * (
            torch.nn.functional.cross_entropy(logits_joint, torch.zeros(256, dtype=torch.long))
            + torch.nn.functional.cross_entropy(logits_perm, torch.ones(256, dtype=torch.long))
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.45
    with torch.no_grad():
        logits = objective.discriminator(z)
    assert (logits[:, 0] - logits[:, 1]).mean().item() > 1.0
