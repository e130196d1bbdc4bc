import pytest
import torch

from betavae.errors import ConfigError
from betavae.models import ModelConfig, VAEOutput, build_model


@pytest.mark.parametrize(
    ("arch", "shape"),
    [("mlp64", (64, 64, 1)), ("conv64", (64, 64, 3)), ("mlp28", (28, 28, 1))],
)
def test_forward_shapes(arch, shape):
    torch.manual_seed(0)
    model = build_model(ModelConfig(arch, 5), shape)
    h, w, c = shape
    x = torch.rand(4, c, h, w)
    out = model(x)
    assert isinstance(out, VAEOutput)
    assert out.recon.shape == (4, c, h, w)
    assert out.mu.shape == out.logvar.shape == out.z.shape == (4, 5)
    mu, logvar = model.encode(x)
    assert torch.equal(mu, out.mu) and torch.equal(logvar, out.logvar)
    assert model.decode(out.z).shape == (4, c, h, w)
    assert model.config == ModelConfig(arch, 5) and model.observation_shape == shape


def test_mlp64_matches_higgins_appendix_a_layer_sizes():
    model = build_model(ModelConfig("mlp64", 10), (64, 64, 1))
    enc = [tuple(p.shape) for n, p in model.encoder.named_parameters() if n.endswith("weight")]
    dec = [tuple(p.shape) for n, p in model.decoder.named_parameters() if n.endswith("weight")]
    assert enc == [(4096, 1200), (1200, 1200), (20, 1200)]
    assert dec == [(1200, 10), (1200, 1200), (1200, 1200), (4096, 1200)]
    assert sum(isinstance(m, torch.nn.Tanh) for m in model.decoder.modules()) == 3


def test_wrong_image_size_raises_naming_the_architecture():
    with pytest.raises(ConfigError, match="model.architecture 'mlp28' expects 28x28"):
        build_model(ModelConfig("mlp28", 3), (64, 64, 1))


def test_wrong_input_shape_raises():
    model = build_model(ModelConfig("mlp28", 3), (28, 28, 1))
    with pytest.raises(ValueError, match=r"expected x of shape \(B, 1, 28, 28\)"):
        model(torch.rand(2, 1, 64, 64))


def test_forward_sample_follows_the_generator():
    model = build_model(ModelConfig("mlp28", 3), (28, 28, 1))
    x = torch.rand(2, 1, 28, 28)
    a = model(x, generator=torch.Generator().manual_seed(3)).z
    b = model(x, generator=torch.Generator().manual_seed(3)).z
    c = model(x, generator=torch.Generator().manual_seed(4)).z
    assert torch.equal(a, b) and not torch.equal(a, c)
