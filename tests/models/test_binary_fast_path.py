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
        results.append(
            (
                mu.detach(),
                logvar.detach(),
                model.encoder.first.weight.grad.clone(),
                model.encoder.first.bias.grad.clone(),
            )
        )
    for a, b in zip(*results):
        assert torch.allclose(a, b, atol=1e-5, rtol=0)
    assert results[0][2].abs().sum() > 0


def test_blocked_inference_gather_is_bitwise_the_single_gather():
    """At inference binary_linear gathers column blocks; each output entry sums the same rows in the same
    order, so the result must equal one embedding_bag over the whole of W bit for bit."""
    import torch.nn.functional as F

    from betavae.models.architectures import GATHER_BLOCK_COLUMNS, binary_linear

    torch.manual_seed(0)
    layer = BinaryAwareLinear(4096, 3 * GATHER_BLOCK_COLUMNS + 17)  # a ragged last block
    x = _binary(n=1500, density=0.05).flatten(1)
    rows, cols = torch.nonzero(x, as_tuple=True)
    counts = torch.bincount(rows, minlength=x.shape[0])
    single = F.embedding_bag(cols, layer.weight, torch.cumsum(counts, 0) - counts, mode="sum") + layer.bias
    with torch.no_grad():
        blocked = binary_linear(x.shape[0], rows, cols, layer.weight, layer.bias)
    assert torch.equal(blocked, single.detach())
    assert torch.equal(blocked[3], layer.bias.detach())  # the empty bag


def test_uint8_binary_images_give_bitwise_the_codes_of_their_float_conversion():
    import numpy as np
    import pytest

    from betavae.evaluation.inference import encode_means
    from betavae.models.inputs import encoder_input, to_float_images

    torch.manual_seed(0)
    model = build_model(ModelConfig("mlp64", 10), (64, 64, 1)).eval()
    images = _binary(n=1100).permute(0, 2, 3, 1).to(torch.uint8)  # (n, H, W, C) as stored
    taken = encoder_input(images, 1, model.encoder)
    assert taken.dtype == torch.uint8 and model.encoder.first.uses_fast_path(taken.flatten(1))
    assert encoder_input(images, 255, model.encoder).dtype == torch.float32  # grey levels: floats
    with torch.no_grad():
        from_floats = model.encode(to_float_images(images, 1))[0].numpy()
    np.testing.assert_array_equal(encode_means(model, images.numpy(), 1, batch_size=512), from_floats)
    with pytest.raises(ValueError, match="must be binary"):
        model.encoder.first((images * 2).flatten(1))
    assert model.encoder.first(images[:0].flatten(1)).shape == (0, 1200)  # an empty batch
