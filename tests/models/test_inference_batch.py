"""Inference batch sizes: the conv nets encode in smaller CPU batches, for speed only, never other codes."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from betavae.evaluation.inference import (
    INFERENCE_BATCH_SIZE,
    decode_images,
    encode_means,
    inference_batch_size,
)
from betavae.models import ModelConfig, build_model
from betavae.training.allocator import MMAP_THRESHOLD


def _widest_activation_bytes(network: torch.nn.Module, example: torch.Tensor) -> int:
    """Bytes of the largest output of any submodule for one input (float32, as at inference)."""
    sizes: list[int] = []
    hooks = [
        m.register_forward_hook(lambda _m, _i, out: sizes.append(out.numel() * out.element_size()))
        for m in network.modules()
        if m is not network
    ]
    with torch.no_grad():
        network(example)
    for hook in hooks:
        hook.remove()
    return max(sizes)


@pytest.mark.parametrize("architecture", ["mlp64", "conv64"])
def test_cpu_batch_keeps_every_activation_below_the_allocator_reuse_threshold(architecture):
    model = build_model(ModelConfig(architecture, 10), (64, 64, 1)).eval()
    for network, example in ((model.encoder, torch.zeros(1, 1, 64, 64)), (model.decoder, torch.zeros(1, 10))):
        per_image = _widest_activation_bytes(network, example)
        assert inference_batch_size(network, "cpu") * per_image < MMAP_THRESHOLD
        assert inference_batch_size(network, "cuda") == INFERENCE_BATCH_SIZE  # no such threshold on a GPU
    if architecture == "conv64":  # the reason conv64 sets its own: the default would reach the threshold
        assert (
            INFERENCE_BATCH_SIZE * _widest_activation_bytes(model.encoder, torch.zeros(1, 1, 64, 64)) >= MMAP_THRESHOLD
        )
        assert inference_batch_size(model.encoder, "cpu") == 512


@pytest.mark.parametrize("max_pixel_value", [1, 255])
def test_conv64_codes_and_decoded_images_do_not_depend_on_the_batch(max_pixel_value):
    torch.manual_seed(0)
    model = build_model(ModelConfig("conv64", 10), (64, 64, 1)).eval()
    rng = np.random.default_rng(0)
    images = rng.integers(0, max_pixel_value + 1, size=(700, 64, 64, 1), dtype=np.uint8)
    by_default = encode_means(model, images, max_pixel_value)  # 512 + 188 images per pass
    in_one_pass = encode_means(model, images, max_pixel_value, batch_size=len(images))
    np.testing.assert_array_equal(by_default, in_one_pass)
    assert by_default.shape == (700, 10) and by_default.dtype == np.float32
    np.testing.assert_array_equal(
        decode_images(model, by_default, max_pixel_value),
        decode_images(model, by_default, max_pixel_value, batch_size=len(images)),
    )


@pytest.mark.parametrize("batch_size", [0, -5, 2.5, True])
def test_a_batch_size_that_is_not_a_positive_count_is_refused(batch_size):
    model = build_model(ModelConfig("mlp64", 4), (64, 64, 1)).eval()
    with pytest.raises(
        ValueError, match=f"batch_size must be a positive number of images per pass, got {batch_size!r}"
    ):
        encode_means(model, np.zeros((3, 64, 64, 1), dtype=np.uint8), 1, batch_size=batch_size)
    with pytest.raises(ValueError, match="batch_size must be a positive number"):
        decode_images(model, np.zeros((3, 4), dtype=np.float32), 1, batch_size=batch_size)


FRESH_PROCESS = textwrap.dedent("""
    import sys
    import numpy as np
    from betavae.evaluation.inference import decode_images, encode_means
    from betavae.models import ModelConfig, build_model
    from betavae.training import allocator

    model = build_model(ModelConfig("conv64", 4), (64, 64, 1))
    before = allocator._applied
    if sys.argv[1] == "decode":
        decode_images(model, np.zeros((2, 4), dtype=np.float32), 1)
    else:
        encode_means(model, np.zeros((2, 64, 64, 1), dtype=np.uint8), 1)
    print(before, allocator._applied)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc settings are Linux-only")
@pytest.mark.parametrize("entry", ["encode", "decode"])
def test_inference_keeps_freed_memory_in_a_fresh_process(entry):
    """Both inference entry points set the allocator (`training/allocator.py`) themselves, so a process
    that only decodes (`betavae serve`, rendering) reuses its batch buffers too."""
    root = Path(__file__).parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root)]), "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS, entry], capture_output=True, text=True, timeout=120, env=env, check=True
    ).stdout.split()
    assert out == ["None", "True"]
