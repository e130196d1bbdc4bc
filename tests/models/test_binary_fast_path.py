import torch

from betavae.models import ModelConfig, build_model
from betavae.models.architectures import BinaryAwareLinear


def _binary(n=8, density=0.08, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(n, 1, 64, 64, generator=g) < density).float()
    x[3] = 0.0  # an all-black image: an empty bag
    x[5] = 1.0  # an all-white image
    return x


def test_layer_fast_path_equals_dense_product():
    torch.manual_seed(0)
    layer = BinaryAwareLinear(4096, 1200)
    x = _binary().flatten(1)
    assert layer.uses_fast_path(x)
    fast = layer(x)
    dense = torch.addmm(layer.bias, x, layer.weight)
    assert torch.allclose(fast, dense, atol=1e-5, rtol=0)
    assert not layer.uses_fast_path(x * 0.5)  # grey levels take the dense path
    assert not layer.uses_fast_path(x.clone().requires_grad_(True))


def test_mlp64_encode_and_gradients_identical_with_and_without_fast_path():
    torch.manual_seed(0)
    model = build_model(ModelConfig("mlp64", 10), (64, 64, 1))
    x = _binary()
    results = []
    for fast in (True, False):
        model.encoder.first.binary_fast_path = fast
        model.zero_grad()
        mu, logvar = model.encode(x)
        (mu.pow(2).sum() + logvar.sum()).backward()
        results.append((mu.detach(), logvar.detach(), model.encoder.first.weight.grad.clone(),
                        model.encoder.first.bias.grad.clone()))
    for a, b in zip(*results):
        assert torch.allclose(a, b, atol=1e-5, rtol=0)
    assert results[0][2].abs().sum() > 0
