import math

import pytest
import torch

from betavae.models import ModelConfig, build_model, build_objective, objective_config
from betavae.models.gaussian import log_normal_diag, log_standard_normal, reparameterise
from betavae.models.objectives import capacity
from betavae.models.total_correlation import (
    estimate_log_qz,
    estimate_log_qz_unfused,
    kl_decomposition,
    mss_log_weights,
)


@pytest.mark.parametrize(("step", "expected"), [(0, 0.0), (500, 12.5), (1000, 25.0), (5000, 25.0), (250, 6.25)])
def test_capacity_schedule(step, expected):
    assert capacity(step, 25.0, 1000) == pytest.approx(expected)


def test_capacity_rejects_bad_arguments():
    with pytest.raises(ValueError, match="steps must be >= 1"):
        capacity(3, 25.0, 0)
    with pytest.raises(ValueError, match="step must be >= 0"):
        capacity(-1, 25.0, 10)


def test_capacity_objective_total():
    torch.manual_seed(0)
    model = build_model(ModelConfig("mlp28", 3), (28, 28, 1))
    cfg = objective_config("beta_vae_b", gamma=100.0, capacity_max=20.0, capacity_steps=10)
    x = (torch.rand(5, 1, 28, 28) < 0.3).float()
    terms = build_objective(cfg, 3, 100)(model, x, step=5)
    assert terms["capacity"].item() == pytest.approx(10.0)
    expected = terms["reconstruction"] + 100.0 * (terms["kl"] - 10.0).abs()
    assert torch.allclose(terms["total"], expected)


def _posteriors(kind: str, seed: int, m: int = 1000):
    """Batches of q(z|x) = N(mu, 0.5^2 I) in 2-D with known aggregate posterior.

    independent: mu ~ N(0, 4 I), so q(z) = N(0, 4.25 I): TC = 0, MI = 2 * 0.5 log(17),
    DWKL = 2 * KL(N(0, 4.25) || N(0, 1)).
    correlated: mu = (a, a) with a ~ N(0, 4): q(z) is Gaussian with correlation 4 / 4.25, TC = -0.5 log(1 - rho^2).
    """
    g = torch.Generator().manual_seed(seed)
    if kind == "independent":
        mu = 2.0 * torch.randn(m, 2, generator=g)
    else:
        mu = (2.0 * torch.randn(m, 1, generator=g)).repeat(1, 2)
    logvar = torch.full((m, 2), math.log(0.25))
    return reparameterise(mu, logvar, g), mu, logvar


TC_CORRELATED = -0.5 * math.log(1.0 - (4.0 / 4.25) ** 2)  # 1.085
MI_INDEPENDENT = math.log(17.0)  # 2 * 0.5 * log(1 + 4 / 0.25)
DWKL_INDEPENDENT = 4.25 - 1.0 - math.log(4.25)  # 2 * 0.5 * (4.25 - 1 - log 4.25)


@pytest.mark.parametrize("dataset_size", [1000, 1_000_000])
def test_mss_recovers_known_tc_mi_and_dwkl(dataset_size):
    for seed in (0, 1):
        ind = kl_decomposition(*_posteriors("independent", seed), dataset_size, "mss")
        cor = kl_decomposition(*_posteriors("correlated", seed), dataset_size, "mss")
        assert abs(ind["tc"].item()) < 0.1
        assert ind["mi"].item() == pytest.approx(MI_INDEPENDENT, abs=0.2)
        assert ind["dwkl"].item() == pytest.approx(DWKL_INDEPENDENT, abs=0.25)
        assert cor["tc"].item() == pytest.approx(TC_CORRELATED, abs=0.12)


def test_mws_is_the_paper_estimator_with_its_constant_offset():
    n = 50_000
    offset = math.log(n)  # (d - 1) log N with d = 2
    for seed in (0, 1):
        ind = kl_decomposition(*_posteriors("independent", seed), n, "mws")
        cor = kl_decomposition(*_posteriors("correlated", seed), n, "mws")
        assert abs(ind["tc"].item() - offset) < 0.1
        assert cor["tc"].item() - offset == pytest.approx(TC_CORRELATED, abs=0.12)


def test_identical_posteriors_give_exact_values():
    m, d, n = 64, 5, 10_000
    mu, logvar = torch.zeros(m, d, dtype=torch.float64), torch.zeros(m, d, dtype=torch.float64)
    z = torch.randn(m, d, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    mss = kl_decomposition(z, mu, logvar, n, "mss")
    for key in ("mi", "tc", "dwkl"):
        assert abs(mss[key].item()) < 1e-10
    mws = kl_decomposition(z, mu, logvar, n, "mws")
    assert mws["tc"].item() == pytest.approx((d - 1) * math.log(n), abs=1e-9)
    assert mws["mi"].item() == pytest.approx(math.log(n), abs=1e-9)


@pytest.mark.parametrize("estimator", ["mss", "mws"])
def test_terms_sum_to_the_monte_carlo_kl(estimator):
    g = torch.Generator().manual_seed(3)
    mu, logvar = torch.randn(32, 4, generator=g), torch.randn(32, 4, generator=g)
    z = reparameterise(mu, logvar, g)
    t = kl_decomposition(z, mu, logvar, 500, estimator)
    mc_kl = (log_normal_diag(z, mu, logvar).sum(1) - log_standard_normal(z).sum(1)).mean()
    assert torch.allclose(t["mi"] + t["tc"] + t["dwkl"], mc_kl, atol=1e-4)


def test_mss_weights():
    w = mss_log_weights(5, 100).exp()
    assert torch.allclose(w.sum(1), torch.ones(5))
    assert w[2, 2].item() == pytest.approx(0.01)
    assert w[2, 3].item() == pytest.approx(96 / 400)
    assert w[4, 0].item() == pytest.approx(96 / 400)
    assert w[2, 0].item() == pytest.approx(0.25)
    with pytest.raises(ValueError, match="at least the batch size"):
        mss_log_weights(10, 5)


def test_beta_tcvae_total_with_unit_weights_is_recon_plus_monte_carlo_kl():
    torch.manual_seed(0)
    model = build_model(ModelConfig("mlp28", 3), (28, 28, 1))
    x = (torch.rand(8, 1, 28, 28) < 0.3).float()
    ones = build_objective(objective_config("beta_tcvae", alpha=1.0, beta=1.0, gamma=1.0), 3, 1000)
    terms = ones(model, x, 0, generator=torch.Generator().manual_seed(1))
    out = model(x, generator=torch.Generator().manual_seed(1))
    mc_kl = (log_normal_diag(out.z, out.mu, out.logvar) - log_standard_normal(out.z)).sum(1).mean()
    assert torch.allclose(terms["total"], terms["reconstruction"] + mc_kl, atol=1e-4)
    weighted = build_objective(objective_config("beta_tcvae", alpha=2.0, beta=6.0, gamma=0.5), 3, 1000)
    t = weighted(model, x, 0, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(t["total"], t["reconstruction"] + 2 * t["mi"] + 6 * t["tc"] + 0.5 * t["dwkl"])


def _batch_posteriors(m: int, d: int, dtype: torch.dtype, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    mu = torch.randn(m, d, generator=g, dtype=dtype).requires_grad_()
    logvar = (0.7 * torch.randn(m, d, generator=g, dtype=dtype)).requires_grad_()
    z = mu + torch.exp(0.5 * logvar) * torch.randn(m, d, generator=g, dtype=dtype)
    return z, mu, logvar


@pytest.mark.parametrize("estimator", ["mss", "mws"])
def test_fused_log_qz_equals_the_autograd_reference_in_value_and_gradient(estimator):
    z, mu, logvar = _batch_posteriors(48, 6, torch.float64)
    fused = estimate_log_qz(z, mu, logvar, 5000, estimator)
    reference = estimate_log_qz_unfused(z, mu, logvar, 5000, estimator)
    g = torch.Generator().manual_seed(1)
    w_qz, w_prod = torch.randn(48, generator=g, dtype=torch.float64), torch.randn(48, generator=g, dtype=torch.float64)
    grads = []
    for log_qz, log_prod in (fused, reference):
        assert log_qz.dtype == log_prod.dtype == torch.float64
        grads.append(
            torch.autograd.grad((w_qz * log_qz).sum() + (w_prod * log_prod).sum(), [mu, logvar], retain_graph=True)
        )
    for a, b in zip(fused, reference, strict=True):
        assert torch.allclose(a, b, rtol=0, atol=1e-12)
    for a, b in zip(*grads, strict=True):
        assert torch.allclose(a, b, rtol=0, atol=1e-12)


@pytest.mark.parametrize("estimator", ["mss", "mws"])
def test_fused_log_qz_passes_gradcheck(estimator):
    z, mu, logvar = (t.detach().requires_grad_() for t in _batch_posteriors(7, 3, torch.float64, seed=2))
    assert torch.autograd.gradcheck(lambda a, b, c: estimate_log_qz(a, b, c, 50, estimator), (z, mu, logvar))


def test_fused_log_qz_computes_bf16_inputs_in_float32():
    z, mu, logvar = (t.detach().to(torch.bfloat16) for t in _batch_posteriors(16, 4, torch.float32))
    log_qz, log_prod = estimate_log_qz(z, mu, logvar, 1000)
    assert log_qz.dtype == log_prod.dtype == torch.float32
    ref_qz, ref_prod = estimate_log_qz_unfused(z.float(), mu.float(), logvar.float(), 1000)
    assert torch.allclose(log_qz, ref_qz, atol=1e-5) and torch.allclose(log_prod, ref_prod, atol=1e-5)
