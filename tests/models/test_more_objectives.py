"""ISA-TCVAE, DIP-VAE and the KL-sparse autoencoder against values computed independently."""

import math

import numpy as np
import pytest
import torch

from betavae.errors import ConfigError
from betavae.models import ModelConfig, build_model, build_objective, objective_config
from betavae.models.objectives import dip_covariance


def _model_and_batch(latents: int = 4, seed: int = 0):
    torch.manual_seed(seed)
    model = build_model(ModelConfig("mlp28", latents), (28, 28, 1))
    x = (torch.rand(16, 1, 28, 28) < 0.3).float()
    return model, x


def _terms(name: str, model, x, latents: int = 4, **settings):
    objective = build_objective(objective_config(name, **settings), latents, 1000)
    return objective(model, x, 0, generator=torch.Generator().manual_seed(7))


def test_isa_tcvae_with_unit_weights_is_the_isa_vae_kl():
    model, x = _model_and_batch()
    isa = {"isa_layout": [2, 2], "isa_p0": 2.1, "isa_p": 1.5}
    tc = _terms("isa_tcvae", model, x, alpha=1.0, beta=1.0, gamma=1.0, **isa)
    vae = _terms("isa_vae", model, x, beta=1.0, **isa)
    assert torch.allclose(tc["kl"], vae["kl"], atol=1e-4)
    assert torch.allclose(tc["total"], vae["total"], atol=1e-4)


def test_isa_tcvae_with_the_gaussian_exponents_is_beta_tcvae():
    """p0 = p = 2 with one latent per subspace is N(0, I): every term equals beta-TCVAE's."""
    model, x = _model_and_batch()
    weights = {"alpha": 0.5, "beta": 6.0, "gamma": 2.0}
    isa = _terms("isa_tcvae", model, x, isa_p0=2.0, isa_p=2.0, **weights)
    tc = _terms("beta_tcvae", model, x, **weights)
    for key in ("mi", "tc", "dwkl", "total"):
        assert torch.allclose(isa[key], tc[key], atol=1e-4), key


def test_isa_tcvae_layout_must_cover_the_latents():
    with pytest.raises(ConfigError, match="train.isa_layout must sum to model.latent_dim = 4"):
        build_objective(objective_config("isa_tcvae", isa_layout=[2, 1]), 4, 100)


@pytest.mark.parametrize("dip_type", ["i", "ii"])
def test_dip_covariance_and_total_against_numpy(dip_type):
    model, x = _model_and_batch()
    terms = _terms("dip_vae", model, x, dip_type=dip_type, lambda_od=3.0, lambda_d=7.0)
    with torch.no_grad():
        mu, logvar = model.encode(x)
    m, lv = mu.double().numpy(), logvar.double().numpy()
    cov = np.cov(m, rowvar=False, bias=True) + (np.diag(np.exp(lv).mean(0)) if dip_type == "ii" else 0.0)
    assert np.allclose(dip_covariance(mu, logvar, dip_type).double().numpy(), cov, atol=1e-5)
    off = (cov**2).sum() - (np.diag(cov) ** 2).sum()
    diag = ((np.diag(cov) - 1.0) ** 2).sum()
    assert terms["dip_off_diagonal"].item() == pytest.approx(off, rel=1e-4, abs=1e-6)
    assert terms["dip_diagonal"].item() == pytest.approx(diag, rel=1e-4)
    expected = terms["reconstruction"] + terms["kl"] + 3.0 * terms["dip_off_diagonal"] + 7.0 * terms["dip_diagonal"]
    assert torch.allclose(terms["total"], expected)


def test_dip_covariance_of_a_whitened_batch_is_the_identity():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(4000, 3, generator=g, dtype=torch.float64)
    centred = a - a.mean(0)
    white = centred @ torch.linalg.inv(torch.linalg.cholesky(centred.T @ centred / 4000)).T
    assert torch.allclose(dip_covariance(white, torch.zeros_like(white), "i"), torch.eye(3, dtype=torch.float64))
    ii = dip_covariance(white, torch.full_like(white, math.log(0.5)), "ii")
    assert torch.allclose(ii, 1.5 * torch.eye(3, dtype=torch.float64))


def test_kl_sparse_penalty_against_the_bernoulli_kl_by_hand():
    model, x = _model_and_batch()
    terms = _terms("kl_sparse_ae", model, x, sparsity_weight=0.3, sparsity_target=0.05)
    with torch.no_grad():
        mu, _ = model.encode(x)
    rho_hat = (1.0 / (1.0 + np.exp(-mu.double().numpy()))).mean(0)  # the batch mean of sigmoid(mu)
    kl = (0.05 * np.log(0.05 / rho_hat) + 0.95 * np.log(0.95 / (1 - rho_hat))).sum()
    assert terms["sparsity_kl"].item() == pytest.approx(kl, rel=1e-4)
    assert torch.allclose(terms["total"], terms["reconstruction"] + 0.3 * terms["sparsity_kl"])


def test_the_bernoulli_kl_is_zero_at_the_target_and_known_elsewhere():
    from betavae.models.regularised import bernoulli_kl

    assert bernoulli_kl(0.05, torch.tensor([0.05])).item() == pytest.approx(0.0, abs=1e-12)
    assert bernoulli_kl(0.05, torch.tensor([0.5], dtype=torch.float64)).item() == pytest.approx(
        0.05 * math.log(0.1) + 0.95 * math.log(1.9), rel=1e-9
    )


@pytest.mark.parametrize(
    ("name", "settings", "message"),
    [
        ("dip_vae", {"dip_type": "iii"}, "train.dip_type"),
        ("dip_vae", {"beta": 4.0}, "train.beta: not a setting of train.objective 'dip_vae'"),
        ("kl_sparse_ae", {"sparsity_target": 1.0}, "train.sparsity_target must be < 1.0"),
        ("isa_tcvae", {"isa_p0": 0.0}, "train.isa_p0 must be > 0.0"),
    ],
)
def test_bad_settings_name_their_key(name, settings, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("'", "'")):
        objective_config(name, **settings)
