import pytest
import torch

from betavae.errors import ConfigError
from betavae.models import ModelConfig, build_model, build_objective, objective_config
from betavae.models.regularised import jacobian_frobenius_sq, mask_pixels, top_k_mask


def _model_and_batch():
    torch.manual_seed(0)
    model = build_model(ModelConfig("mlp28", 3), (28, 28, 1))
    x = (torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(1)) < 0.3).float()
    return model, x


def test_mask_pixels_zeroes_the_requested_fraction():
    x = torch.ones(100, 1, 28, 28)
    masked = mask_pixels(x, 0.25, torch.Generator().manual_seed(0))
    assert set(masked.unique().tolist()) == {0.0, 1.0}
    assert (masked == 0).float().mean().item() == pytest.approx(0.25, abs=0.01)
    assert torch.equal(mask_pixels(x, 0.0), x)


def test_top_k_mask():
    code = torch.tensor([[0.5, -2.0, 3.0, 1.0], [4.0, 3.0, 2.0, 1.0]])
    assert torch.equal(top_k_mask(code, 2), torch.tensor([[0.0, 0.0, 3.0, 1.0], [4.0, 3.0, 0.0, 0.0]]))


def test_jacobian_norm_matches_autograd_functional():
    model, x = _model_and_batch()
    sq, mu, _ = jacobian_frobenius_sq(model, x)
    for b in range(2):
        jac = torch.autograd.functional.jacobian(lambda xi: model.encode(xi.unsqueeze(0))[0][0], x[b])
        assert sq[b].item() == pytest.approx(jac.pow(2).sum().item(), rel=1e-4)
    assert torch.allclose(mu, model.encode(x)[0])


def test_sparse_and_contractive_totals():
    model, x = _model_and_batch()
    t = build_objective(objective_config("sparse_ae", sparsity_weight=0.5), 3, 10)(model, x, 0)
    mu = model.encode(x)[0]
    assert torch.allclose(t["code_l1"], mu.abs().sum(1).mean())
    recon = model.reconstruction_nll(model.decode(mu), x).mean()
    assert torch.allclose(t["reconstruction"], recon)
    assert torch.allclose(t["total"], recon + 0.5 * t["code_l1"])
    c = build_objective(objective_config("contractive_ae", contractive_weight=0.1), 3, 10)(model, x, 0)
    assert torch.allclose(c["total"], c["reconstruction"] + 0.1 * c["jacobian_frobenius_sq"])
    assert c["jacobian_frobenius_sq"].item() > 0


def test_denoising_reconstructs_the_clean_input_from_a_masked_code():
    model, x = _model_and_batch()
    objective = build_objective(objective_config("denoising_ae", corruption=0.5), 3, 10)
    t = objective(model, x, 0, generator=torch.Generator().manual_seed(7))
    masked = mask_pixels(x, 0.5, torch.Generator().manual_seed(7))
    expected = model.reconstruction_nll(model.decode(model.encode(masked)[0]), x).mean()
    assert torch.allclose(t["reconstruction"], expected)
    clean = model.reconstruction_nll(model.decode(model.encode(x)[0]), x).mean()
    assert not torch.allclose(t["reconstruction"], clean)


def test_k_sparse_decodes_only_k_units_and_checks_k():
    model, x = _model_and_batch()
    t = build_objective(objective_config("k_sparse_ae", sparsity_k=1), 3, 10)(model, x, 0)
    code = top_k_mask(model.encode(x)[0], 1)
    assert ((code != 0).sum(1) == 1).all()
    assert torch.allclose(t["total"], model.reconstruction_nll(model.decode(code), x).mean())
    with pytest.raises(ConfigError, match="train.sparsity_k must be <= model.latent_dim = 3, got 4"):
        build_objective(objective_config("k_sparse_ae", sparsity_k=4), 3, 10)
