"""The training engine: determinism, resume after SIGKILL, divergence, and input checks."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from betavae.config import build_run_config
from betavae.errors import ConfigError, TrainingDiverged
from betavae.models import build_model
from betavae.paths import SNAPSHOTS_DIR, WEIGHTS_FILE, snapshot_file
from betavae.training.checkpoint import load_checkpoint, model_from_checkpoint, seal_checkpoint
from betavae.training.engine import train
from tests.helpers.runs import InMemoryImages, random_binary_images, tiny_params


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(path)["model"]


def test_same_seed_gives_identical_weights_and_other_seed_does_not(tmp_path, tiny_images):
    run = build_run_config(tiny_params(steps=12), "tiny")
    a = train(run, tiny_images, tmp_path / "a", progress=False)
    b = train(run, tiny_images, tmp_path / "b", progress=False)
    c = train(build_run_config(tiny_params(steps=12, seed=1), "tiny"), tiny_images, tmp_path / "c", progress=False)
    wa, wb, wc = _weights(a.checkpoint), _weights(b.checkpoint), _weights(c.checkpoint)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert not all(torch.equal(wa[k], wc[k]) for k in wa)


def test_training_reduces_the_loss(tmp_path, tiny_images):
    run = build_run_config(tiny_params(steps=150, batch_size=32, log_every=10, checkpoint_every=150), "tiny")
    totals = []
    train(run, tiny_images, tmp_path, on_metrics=lambda m, step: totals.append(m["total"]), progress=False)
    assert len(totals) == 15
    assert totals[-1] < 0.8 * totals[0]


def test_snapshots_see_the_model_at_their_steps_and_leave_the_weights_unchanged(tmp_path, tiny_images):
    """A snapshot callback that samples from torch's RNG and switches the model's mode changes nothing."""
    run = build_run_config(tiny_params(steps=12), "tiny")
    plain = train(run, tiny_images, tmp_path / "plain", progress=False)
    seen: list[tuple[int, bool, float]] = []

    def score(model: torch.nn.Module, step: int) -> None:
        noise = torch.rand(64)  # what a scorer that samples would draw
        seen.append((step, model.training, float(noise[0])))
        model.train()

    snapped = train(
        run, tiny_images, tmp_path / "snap", progress=False, snapshot_steps={4, 8, 12, 99}, on_snapshot=score
    )
    assert [s for s, _, _ in seen] == [4, 8, 12]
    assert [training for _, training, _ in seen] == [False] * 3, "the model is scored in evaluation mode"
    wa, wb = _weights(plain.checkpoint), _weights(snapped.checkpoint)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_train_snapshots_keep_the_weights_of_their_step_and_change_nothing(tmp_path, tiny_images):
    """`train.snapshots: [4, 8, 12]` on a 12-step run keeps steps 4 and 8 (the last step is the run's own
    weights); the file at step 8 is the weights of a run stopped at step 8, rounded to bfloat16 under the
    bf16 autocast and exact under float32."""
    for precision, dtype in (("bf16", torch.bfloat16), ("fp32", torch.float32)):
        folder = tmp_path / precision
        plain = train(
            build_run_config(tiny_params(steps=12, precision=precision), "tiny"),
            tiny_images,
            folder / "plain",
            progress=False,
        )
        run = build_run_config(tiny_params(steps=12, snapshots=[12, 4, 8], precision=precision), "tiny")
        snapped = train(run, tiny_images, folder / "snap", progress=False)
        files = sorted(p.name for p in (folder / "snap" / SNAPSHOTS_DIR).iterdir())
        assert files == [snapshot_file(4), snapshot_file(8)]
        wa, wb = _weights(plain.checkpoint), _weights(snapped.checkpoint)
        assert all(torch.equal(wa[k], wb[k]) for k in wa), "keeping snapshots changed the trained weights"
        short = train(
            build_run_config(tiny_params(steps=8, checkpoint_every=4, precision=precision), "tiny"),
            tiny_images,
            folder / "short",
            progress=False,
        )
        at_8 = _weights(short.checkpoint)
        kept = _weights(folder / "snap" / SNAPSHOTS_DIR / snapshot_file(8))
        assert all(kept[k].dtype == dtype and torch.equal(kept[k], at_8[k].to(dtype)) for k in at_8)
        model, loaded_run = model_from_checkpoint(folder / "snap" / SNAPSHOTS_DIR / snapshot_file(8))
        assert loaded_run.digest == run.digest
        assert all(v.dtype == torch.float32 for v in model.state_dict().values())


def test_snapshots_every_n_steps_and_the_digest_without_snapshots(tmp_path, tiny_images):
    run = build_run_config(tiny_params(steps=12, snapshots={"every": 5}), "tiny")
    assert run.train.snapshot_steps() == (5, 10)
    assert (
        build_run_config(tiny_params(steps=12, snapshots=[]), "tiny").digest
        == build_run_config(tiny_params(steps=12), "tiny").digest
    ), "an empty snapshot list must not change existing runs' digests"
    assert run.digest != build_run_config(tiny_params(steps=12), "tiny").digest


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([0], "train.snapshots[] must be >= 1"),
        ([13], "after the last step"),
        ([4, 4], "lists a step twice"),
        ({"each": 3}, "list of steps or {every: N}"),
        ({"every": 0}, "train.snapshots.every must be >= 1"),
        ("often", "list of steps or {every: N}"),
        ([True], "train.snapshots[] must be an integer"),
    ],
)
def test_bad_snapshots_are_refused_naming_the_key(value, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        build_run_config(tiny_params(steps=12, snapshots=value), "tiny")


def test_sealing_moves_the_snapshots_beside_the_weights(tmp_path, tiny_images):
    run = build_run_config(tiny_params(steps=12, snapshots=[6]), "tiny")
    result = train(run, tiny_images, tmp_path / "ckpt", progress=False)
    weights = seal_checkpoint(result.checkpoint, tmp_path / "weights" / "run" / WEIGHTS_FILE)
    assert [p.name for p in (weights.parent / SNAPSHOTS_DIR).iterdir()] == [snapshot_file(6)]
    assert not (tmp_path / "ckpt").exists()
    assert seal_checkpoint(result.checkpoint, weights) == weights, "sealing twice is harmless"


KILL_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from betavae.config import build_run_config
    from betavae.training.engine import train
    from tests.helpers.runs import InMemoryImages, random_binary_images, tiny_params

    def maybe_die(metrics, step):
        if step == 25:  # after the checkpoint at step 20, before the one at 30
            os.kill(os.getpid(), signal.SIGKILL)

    run = build_run_config(tiny_params(steps=40), "tiny")
    train(run, InMemoryImages(random_binary_images(128, 28)), Path(sys.argv[1]), on_metrics=maybe_die,
          progress=False)
""")


def test_resume_after_sigkill_reproduces_uninterrupted_weights(tmp_path):
    run = build_run_config(tiny_params(steps=40), "tiny")
    data = InMemoryImages(random_binary_images(128, 28))
    reference = train(run, data, tmp_path / "reference", progress=False)

    interrupted = tmp_path / "interrupted"
    proc = subprocess.run(
        [sys.executable, "-c", KILL_SCRIPT, str(interrupted)],
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        timeout=300,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[2] / "src"), str(Path(__file__).parents[2])]),
        },
    )
    assert proc.returncode == -9, proc.stderr
    assert load_checkpoint(interrupted / "last.pt")["step"] == 20

    resumed = train(run, data, interrupted, progress=False)
    assert resumed.resumed_from_step == 20
    ref_w, res_w = _weights(reference.checkpoint), _weights(resumed.checkpoint)
    assert ref_w.keys() == res_w.keys()
    for name in ref_w:
        assert torch.equal(ref_w[name], res_w[name]), name
    ref_opt = load_checkpoint(reference.checkpoint)["optimizers"]["model"]["state"]
    res_opt = load_checkpoint(resumed.checkpoint)["optimizers"]["model"]["state"]
    assert all(torch.equal(ref_opt[k]["exp_avg"], res_opt[k]["exp_avg"]) for k in ref_opt)


def test_checkpoint_rebuilds_the_model_without_pickled_code(tmp_path, tiny_images):
    run = build_run_config(tiny_params(steps=10), "tiny")
    result = train(run, tiny_images, tmp_path, progress=False)
    model, restored = model_from_checkpoint(result.checkpoint)
    assert restored == run
    x = torch.from_numpy(tiny_images.images[:4]).permute(0, 3, 1, 2).float()
    mu, logvar = model.encode(x)
    assert mu.shape == (4, 4) and logvar.shape == (4, 4)


def test_checkpoint_of_another_configuration_is_not_resumed(tmp_path, tiny_images):
    train(build_run_config(tiny_params(steps=10), "tiny"), tiny_images, tmp_path, progress=False)
    with pytest.raises(ConfigError, match="another configuration"):
        train(build_run_config(tiny_params(steps=10, beta=2.0), "tiny"), tiny_images, tmp_path, progress=False)


def test_checkpoint_trained_on_other_data_is_not_resumed(tmp_path):
    run = build_run_config(tiny_params(steps=10), "tiny")
    train(run, InMemoryImages(random_binary_images(64, 28), digest="a" * 64), tmp_path, progress=False)
    with pytest.raises(ConfigError, match="trained on other data"):
        train(run, InMemoryImages(random_binary_images(64, 28, seed=1), digest="b" * 64), tmp_path, progress=False)


def test_non_finite_loss_stops_the_run_with_the_reason(tmp_path, tiny_images):
    run = build_run_config(tiny_params(steps=200, lr=1e30), "tiny")
    with pytest.raises(TrainingDiverged, match=r"non-finite loss .* at step \d+"):
        train(run, tiny_images, tmp_path, progress=False)


def test_batch_larger_than_dataset_fails_before_any_work(tmp_path):
    data = InMemoryImages(random_binary_images(8, 28))
    with pytest.raises(ConfigError, match=r"train.batch_size \(16\) is larger than the dataset"):
        train(build_run_config(tiny_params(), "tiny"), data, tmp_path, progress=False)
    assert not (tmp_path / "last.pt").exists()


def test_unavailable_device_is_a_config_error(tmp_path, tiny_images, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="train.device is 'cuda'"):
        train(build_run_config(tiny_params(device="cuda"), "tiny"), tiny_images, tmp_path, progress=False)


@pytest.mark.slow
def test_torch_compile_trains_and_saves_plain_weights(tmp_path, tiny_images):
    """Compiled code draws its reparameterisation noise differently, so trajectories are not bitwise
    equal to eager ones; what must hold is that it learns and that checkpoints stay loadable."""
    totals = []
    run = build_run_config(
        tiny_params(steps=60, batch_size=32, log_every=10, checkpoint_every=60, compile=True), "tiny"
    )
    result = train(run, tiny_images, tmp_path, on_metrics=lambda m, step: totals.append(m["total"]), progress=False)
    assert totals[-1] < 0.8 * totals[0]
    model, _ = model_from_checkpoint(result.checkpoint)  # no "_orig_mod." prefixes from the compiled wrapper
    eager = build_model(run.model, (28, 28, 1))
    assert model.state_dict().keys() == eager.state_dict().keys()
