"""The hot path's pieces: batch sampling and its resumable state, image conversion, loss-term transfer,
the fused optimiser, the allocator setting, and the CUDA path (skipped without a CUDA device)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from betavae.config import build_run_config
from betavae.models.inputs import to_float_images
from betavae.training.checkpoint import load_checkpoint
from betavae.training.engine import train
from betavae.training.step import BatchSampler, make_optimizer, scalar_terms
from tests.helpers.runs import InMemoryImages, random_binary_images, tiny_params

CPU = torch.device("cpu")
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def test_to_float_images_is_channels_first_in_unit_range():
    batch = torch.tensor([[[[0, 255, 128]]]], dtype=torch.uint8)  # (1, 1, 1, 3)
    x = to_float_images(batch, 255)
    assert x.shape == (1, 3, 1, 1) and x.dtype == torch.float32
    assert torch.equal(x.flatten(), torch.tensor([0.0, 1.0, 128 / 255]))
    binary = torch.tensor([[[[0], [1]]]], dtype=torch.uint8)  # (1, 1, 2, 1)
    assert torch.equal(to_float_images(binary, 1), torch.tensor([[[[0.0, 1.0]]]]))


def test_batch_sampler_is_seeded_and_its_state_replays_the_next_batch():
    images = np.arange(50, dtype=np.uint8).reshape(50, 1, 1, 1)
    a, b = BatchSampler(images, 255, 8, CPU, seed=3), BatchSampler(images, 255, 8, CPU, seed=3)
    assert torch.equal(a.draw(), b.draw())
    state = a.get_state()
    expected = a.draw()
    a.draw()
    a.set_state(state)
    assert torch.equal(a.draw(), expected)
    assert not torch.equal(BatchSampler(images, 255, 8, CPU, seed=4).draw(), b.draw())
    # every drawn image is one of the dataset's, scaled to [0, 1]
    values = (a.draw().flatten() * 255).round().long()
    assert values.min() >= 0 and values.max() < 50


def test_scalar_terms_flattens_vectors_in_one_transfer():
    terms = {"total": torch.tensor(3.5), "kl_per_latent": torch.tensor([1.0, 2.0]), "one": torch.tensor([7.0])}
    assert scalar_terms(terms) == {"total": 3.5, "kl_per_latent.0": 1.0, "kl_per_latent.1": 2.0, "one.0": 7.0}


def test_optimisers_use_the_fused_update_where_torch_has_one():
    params = [torch.nn.Parameter(torch.zeros(3))]
    assert make_optimizer("adam", params, 1e-3, CPU).defaults["fused"] is True
    assert make_optimizer("adagrad", params, 1e-2, CPU).defaults["fused"] is True
    assert not make_optimizer("adam", params, 1e-3, torch.device("mps")).defaults["fused"]


def test_fused_adam_takes_the_same_step_as_the_reference_update():
    torch.manual_seed(0)
    w = torch.randn(50)
    grads = [torch.randn(50) for _ in range(3)]
    results = []
    for optimizer in (lambda p: make_optimizer("adam", p, 1e-2, CPU), lambda p: torch.optim.Adam(p, lr=1e-2)):
        p = torch.nn.Parameter(w.clone())
        opt = optimizer([p])
        for g in grads:
            p.grad = g.clone()
            opt.step()
        results.append(p.detach())
    torch.testing.assert_close(results[0], results[1], rtol=1e-6, atol=1e-7)


MAPPED_MB = textwrap.dedent("""
    import ctypes, sys, torch
    from betavae.training.allocator import keep_freed_memory

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                                                          "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MallInfo2
    applied = keep_freed_memory() if sys.argv[1] == "keep" else None
    buffer = torch.zeros(4096, 4096)  # 64 MB, the size of a large step's gradient buffers
    print(applied, libc.mallinfo2().hblkhd // 2**20)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc settings are Linux-only")
def test_keeping_freed_memory_serves_large_buffers_from_the_reused_heap():
    """By default glibc maps every block above 32 MB afresh from the kernel (and unmaps it when freed, so
    the next step faults its pages in again); with the setting a 64 MB buffer comes from the heap."""
    root = Path(__file__).parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root)]), "OMP_NUM_THREADS": "1"}
    mapped = {}
    for mode in ("default", "keep"):
        proc = subprocess.run(
            [sys.executable, "-c", MAPPED_MB, mode], capture_output=True, text=True, timeout=120, env=env, check=True
        )
        applied, megabytes = proc.stdout.split()
        mapped[mode] = int(megabytes)
        assert applied == ("True" if mode == "keep" else "None")
    assert mapped["default"] >= 64
    assert mapped["keep"] < 32


@needs_cuda
def test_cuda_bf16_run_keeps_data_and_batches_on_the_device_and_resumes_exactly(tmp_path):
    data = InMemoryImages(random_binary_images(256, 28))
    run = build_run_config(tiny_params(steps=40, device="cuda", precision="auto"), "tiny")
    sampler = BatchSampler(data.images, 1, 16, torch.device("cuda"), seed=0)
    assert sampler.images.is_cuda and sampler.generator.device.type == "cuda" and sampler.draw().is_cuda
    reference = train(run, data, tmp_path / "reference", progress=False)
    assert reference.device.startswith("cuda")
    partial = build_run_config(tiny_params(steps=40, device="cuda", precision="auto"), "tiny")
    interrupted = tmp_path / "interrupted"

    class Stop(Exception):
        pass

    def stop(metrics: dict, step: int) -> None:
        if step == 25:
            raise Stop

    with pytest.raises(Stop):
        train(partial, data, interrupted, on_metrics=stop, progress=False)
    assert load_checkpoint(interrupted / "last.pt")["step"] == 20
    resumed = train(run, data, interrupted, progress=False)
    ref_w = load_checkpoint(reference.checkpoint)["model"]
    res_w = load_checkpoint(resumed.checkpoint)["model"]
    for name in ref_w:
        assert torch.equal(ref_w[name], res_w[name]), name


@needs_cuda
def test_cuda_compiled_bf16_run_learns(tmp_path):
    data = InMemoryImages(random_binary_images(256, 28))
    totals = []
    run = build_run_config(
        tiny_params(
            steps=60, batch_size=32, log_every=10, checkpoint_every=60, device="cuda", precision="bf16", compile=True
        ),
        "tiny",
    )
    train(run, data, tmp_path, on_metrics=lambda m, step: totals.append(m["total"]), progress=False)
    assert totals[-1] < 0.8 * totals[0]
