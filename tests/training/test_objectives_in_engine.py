"""Every objective of the family trained by the engine: logged terms, the FactorVAE second optimiser, the
learned ISA exponents, and the beta-VAE B capacity schedule (Burgess et al. 2018 Sec. 5) across a resume.

The engine computes a step's terms with the weights and the `step` index before the update and logs them
after incrementing its counter, so the terms logged at step s were computed at step s - 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from betavae.config import build_run_config
from betavae.models import capacity
from betavae.training.checkpoint import load_checkpoint
from betavae.training.engine import train
from tests.helpers.runs import InMemoryImages, tiny_params

LATENTS = 4
BASE_TERMS = {"total", "reconstruction", "kl", *(f"kl_per_latent.{i}" for i in range(LATENTS))}

Terms = dict[str, float]

# objective name -> (train: settings, its own logged terms, the terms it must not log, total as a
# function of the logged terms). Hyper-parameters differ from 1 so that a wrong weighting shows.
CASES: dict[str, tuple[dict, set[str], set[str], Callable[[Terms], float]]] = {
    "ae": ({"objective": "ae"}, set(), set(), lambda t: t["reconstruction"]),
    "vae": ({"objective": "vae"}, set(), set(), lambda t: t["reconstruction"] + t["kl"]),
    "beta_vae": ({"objective": "beta_vae", "beta": 3.0}, set(), set(), lambda t: t["reconstruction"] + 3.0 * t["kl"]),
    "beta_vae_b": (
        {"objective": "beta_vae_b", "gamma": 2.0, "capacity_max": 5.0, "capacity_steps": 4},
        {"capacity"},
        set(),
        lambda t: t["reconstruction"] + 2.0 * abs(t["kl"] - t["capacity"]),
    ),
    "beta_tcvae_mss": (
        {"objective": "beta_tcvae", "tc_estimator": "mss", "alpha": 0.5, "beta": 3.0, "gamma": 2.0},
        {"mi", "tc", "dwkl"},
        set(),
        lambda t: t["reconstruction"] + 0.5 * t["mi"] + 3.0 * t["tc"] + 2.0 * t["dwkl"],
    ),
    "beta_tcvae_mws": (
        {"objective": "beta_tcvae", "tc_estimator": "mws", "alpha": 0.5, "beta": 3.0, "gamma": 2.0},
        {"mi", "tc", "dwkl"},
        set(),
        lambda t: t["reconstruction"] + 0.5 * t["mi"] + 3.0 * t["tc"] + 2.0 * t["dwkl"],
    ),
    "factor_vae": (
        {"objective": "factor_vae", "gamma": 6.0},
        {"tc", "discriminator_total", "discriminator_accuracy"},
        set(),
        lambda t: t["reconstruction"] + t["kl"] + 6.0 * t["tc"],
    ),
    "isa_vae_fixed": (
        {"objective": "isa_vae", "beta": 2.0, "isa_layout": [2, 2], "isa_p0": 2.0, "isa_p": 1.5},
        set(),
        {"isa_p0", "isa_p"},
        lambda t: t["reconstruction"] + 2.0 * t["kl"],
    ),
    "isa_vae_learned": (
        {
            "objective": "isa_vae",
            "beta": 2.0,
            "isa_layout": [2, 2],
            "isa_p0": 2.0,
            "isa_p": 1.5,
            "isa_learn_exponents": True,
        },
        {"isa_p0", "isa_p"},
        set(),
        lambda t: t["reconstruction"] + 2.0 * t["kl"],
    ),
    "isa_tcvae_learned": (
        {"objective": "isa_tcvae", "beta": 4.0, "isa_layout": [2, 2], "isa_p0": 2.1, "isa_learn_exponents": True},
        {"mi", "tc", "dwkl", "isa_p0", "isa_p"},
        set(),
        lambda t: t["reconstruction"] + t["mi"] + 4.0 * t["tc"] + t["dwkl"],
    ),
    "dip_vae_ii": (
        {"objective": "dip_vae", "dip_type": "ii", "lambda_od": 2.0, "lambda_d": 3.0},
        {"dip_off_diagonal", "dip_diagonal"},
        set(),
        lambda t: t["reconstruction"] + t["kl"] + 2.0 * t["dip_off_diagonal"] + 3.0 * t["dip_diagonal"],
    ),
    "beta_vae_warmup": (
        {"objective": "beta_vae", "beta": 4.0, "beta_schedule": {"kind": "linear", "steps": 10**6, "start": 0.5}},
        {"beta_factor"},
        set(),
        lambda t: t["reconstruction"] + 4.0 * t["beta_factor"] * t["kl"],
    ),
    "kl_sparse_ae": (
        {"objective": "kl_sparse_ae", "sparsity_weight": 0.5},
        {"sparsity_kl"},
        set(),
        lambda t: t["reconstruction"] + 0.5 * t["sparsity_kl"],
    ),
    "denoising_ae": ({"objective": "denoising_ae", "corruption": 0.3}, set(), set(), lambda t: t["reconstruction"]),
    "sparse_ae": (
        {"objective": "sparse_ae", "sparsity_weight": 0.5},
        {"code_l1"},
        set(),
        lambda t: t["reconstruction"] + 0.5 * t["code_l1"],
    ),
    "k_sparse_ae": ({"objective": "k_sparse_ae", "sparsity_k": 2}, set(), set(), lambda t: t["reconstruction"]),
    "contractive_ae": (
        {"objective": "contractive_ae", "contractive_weight": 0.5},
        {"jacobian_frobenius_sq"},
        set(),
        lambda t: t["reconstruction"] + 0.5 * t["jacobian_frobenius_sq"],
    ),
}


@pytest.fixture(autouse=True, scope="module")
def single_thread():
    """One intra-op thread: these models are far too small to gain from two, and on a shared two-core
    machine a second spinning thread makes each step several times slower."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


class Interrupted(Exception):
    """Raised from `on_metrics` to stop a run between two checkpoints, as a crash would."""


def _recorder(log: list[tuple[int, Terms]], stop_at: int | None = None):
    def on_metrics(metrics: Terms, step: int) -> None:
        log.append((step, dict(metrics)))
        if step == stop_at:
            raise Interrupted(f"stopped at step {step}")

    return on_metrics


def _interrupt_and_resume(run, data: InMemoryImages, directory: Path, stop_at: int):
    """Train until `on_metrics` raises at `stop_at`, then call train again on the same directory."""
    before: list[tuple[int, Terms]] = []
    with pytest.raises(Interrupted):
        train(run, data, directory, on_metrics=_recorder(before, stop_at), progress=False)
    checkpoint = load_checkpoint(directory / "last.pt")
    after: list[tuple[int, Terms]] = []
    result = train(run, data, directory, on_metrics=_recorder(after), progress=False)
    return checkpoint, result, before, after


def _assert_same_tensors(a: dict, b: dict, what: str) -> None:
    assert a.keys() == b.keys(), what
    for key in a:
        assert torch.equal(a[key], b[key]), f"{what}: {key}"


def _assert_same_adam_state(a: dict, b: dict, what: str) -> None:
    assert a["state"].keys() == b["state"].keys(), what
    for index in a["state"]:
        for name in ("step", "exp_avg", "exp_avg_sq"):
            assert torch.equal(a["state"][index][name], b["state"][index][name]), f"{what}: {index}.{name}"


@pytest.mark.parametrize("case", list(CASES))
def test_every_objective_trains_and_logs_its_own_terms(case, tmp_path, tiny_images):
    settings, own, absent, total_of = CASES[case]
    run = build_run_config(tiny_params(**settings, steps=6, log_every=2, checkpoint_every=6), "tiny")
    log: list[tuple[int, Terms]] = []
    result = train(run, tiny_images, tmp_path, on_metrics=_recorder(log), progress=False)

    assert [step for step, _ in log] == [2, 4, 6]
    for step, terms in log:
        names = set(terms) - {"images_per_second"}
        missing = (BASE_TERMS | own) - names
        assert not missing, f"{case} step {step}: {sorted(missing)} not logged"
        assert not names & absent, f"{case} step {step}: unexpected {sorted(names & absent)}"
        assert f"kl_per_latent.{LATENTS}" not in names
        bad = {k: v for k, v in terms.items() if not math.isfinite(v)}
        assert not bad, f"{case} step {step}: non-finite terms {bad}"
        assert terms["total"] == pytest.approx(total_of(terms), rel=1e-5, abs=1e-3), f"{case} step {step}"
    assert result.final_terms == log[-1][1]
    assert load_checkpoint(result.checkpoint)["step"] == 6


def test_factor_vae_discriminator_trains_with_its_own_adam_and_resumes_exactly(tmp_path, tiny_images):
    run = build_run_config(
        tiny_params(
            objective="factor_vae",
            gamma=6.0,
            discriminator_lr=2e-4,
            discriminator_beta1=0.6,
            discriminator_beta2=0.95,
            steps=8,
            log_every=1,
            checkpoint_every=4,
        ),
        "tiny",
    )
    reference_log: list[tuple[int, Terms]] = []
    reference = train(run, tiny_images, tmp_path / "reference", on_metrics=_recorder(reference_log), progress=False)
    final = load_checkpoint(reference.checkpoint)

    mid, resumed, before, after = _interrupt_and_resume(run, tiny_images, tmp_path / "interrupted", stop_at=6)
    assert mid["step"] == 4
    assert resumed.resumed_from_step == 4
    assert [s for s, _ in before] == [1, 2, 3, 4, 5, 6] and [s for s, _ in after] == [5, 6, 7, 8]

    # The second optimiser is Adam over the discriminator alone, with the configured settings, and the
    # model optimiser does not hold the discriminator.
    disc_names = [k for k in mid["objective"] if k.startswith("discriminator.")]
    assert len(disc_names) == 14  # 7 linear layers (Kim & Mnih 2018 Appendix), weight and bias each
    disc_opt = mid["optimizers"]["discriminator"]
    assert len(disc_opt["param_groups"]) == 1
    group = disc_opt["param_groups"][0]
    assert group["lr"] == pytest.approx(2e-4)
    assert tuple(group["betas"]) == pytest.approx((0.6, 0.95))
    assert len(group["params"]) == len(disc_names) == len(disc_opt["state"])
    assert all(int(s["step"]) == 4 for s in disc_opt["state"].values())
    assert len(mid["optimizers"]["model"]["param_groups"][0]["params"]) == len(mid["model"])

    # The discriminator learns: its weights move between the checkpoints at steps 4 and 8.
    moved = [k for k in disc_names if not torch.equal(mid["objective"][k], final["objective"][k])]
    assert moved == disc_names

    # Resuming from step 4 reproduces the uninterrupted run: weights, discriminator, both optimisers.
    end = load_checkpoint(resumed.checkpoint)
    assert end["step"] == 8
    _assert_same_tensors(final["model"], end["model"], "model")
    _assert_same_tensors(final["objective"], end["objective"], "discriminator")
    for name in ("model", "discriminator"):
        _assert_same_adam_state(final["optimizers"][name], end["optimizers"][name], name)
    # ... and so do the terms logged after the resume, step for step.
    ref = dict(reference_log)
    for step, terms in after:
        for key in ("total", "tc", "discriminator_total", "discriminator_accuracy"):
            assert terms[key] == ref[step][key], (step, key)


def test_isa_vae_learned_exponents_change_and_are_restored_on_resume(tmp_path, tiny_images):
    run = build_run_config(
        tiny_params(
            objective="isa_vae",
            beta=2.0,
            isa_layout=[2, 2],
            isa_p0=2.0,
            isa_p=1.5,
            isa_learn_exponents=True,
            lr=1e-2,
            steps=8,
            log_every=1,
            checkpoint_every=4,
        ),
        "tiny",
    )
    reference_log: list[tuple[int, Terms]] = []
    reference = train(run, tiny_images, tmp_path / "reference", on_metrics=_recorder(reference_log), progress=False)
    final = load_checkpoint(reference.checkpoint)["objective"]

    mid_ckpt, resumed, _, after = _interrupt_and_resume(run, tiny_images, tmp_path / "interrupted", stop_at=6)
    mid = mid_ckpt["objective"]
    # The subspace exponents are trained by the model optimiser (model weights + log p); p0 stays fixed
    # (Stuhmer et al. 2020 A.2).
    assert len(mid_ckpt["optimizers"]["model"]["param_groups"][0]["params"]) == len(mid_ckpt["model"]) + 1
    # p starts at (1.5, 1.5) and moves at every update; p0 stays at 2.
    assert math.exp(mid["prior.log_p0"].item()) == pytest.approx(2.0, rel=1e-6)
    assert not torch.allclose(mid["prior.log_p"].exp(), torch.tensor([1.5, 1.5]), atol=1e-4)
    assert torch.equal(mid["prior.log_p0"], final["prior.log_p0"])
    assert not torch.equal(mid["prior.log_p"], final["prior.log_p"])
    # The first terms of the first step (weights as initialised) report the configured exponents.
    assert reference_log[0][1]["isa_p0"] == pytest.approx(2.0, rel=1e-6)
    assert reference_log[0][1]["isa_p"] == pytest.approx(1.5, rel=1e-6)

    # The resumed run computes step 4's terms with the exponents of the checkpoint, not fresh ones.
    ref = dict(reference_log)
    assert after[0][0] == 5
    assert after[0][1]["isa_p0"] == ref[5]["isa_p0"] == pytest.approx(math.exp(mid["prior.log_p0"].item()))
    assert after[0][1]["isa_p"] == ref[5]["isa_p"]
    end = load_checkpoint(resumed.checkpoint)["objective"]
    _assert_same_tensors(final, end, "exponents")


def test_beta_vae_b_logs_the_capacity_of_the_step_its_terms_were_computed_at(tmp_path, tiny_images):
    c_max, c_steps = 3.0, 7
    run = build_run_config(
        tiny_params(
            objective="beta_vae_b",
            gamma=2.0,
            capacity_max=c_max,
            capacity_steps=c_steps,
            steps=12,
            log_every=1,
            checkpoint_every=5,
        ),
        "tiny",
    )
    _, resumed, before, after = _interrupt_and_resume(run, tiny_images, tmp_path, stop_at=7)
    assert resumed.resumed_from_step == 5
    logged = before + after  # steps 1..7, then 6..12 again after resuming from 5
    assert [s for s, _ in logged] == [1, 2, 3, 4, 5, 6, 7, 6, 7, 8, 9, 10, 11, 12]
    for step, terms in logged:
        # Terms logged at step s were computed at step s - 1: C(0) = 0 at the first update.
        assert terms["capacity"] == pytest.approx(capacity(step - 1, c_max, c_steps), rel=1e-6, abs=1e-7), step
    assert logged[0][1]["capacity"] == 0.0
    assert after[0][1]["capacity"] == pytest.approx(5 * c_max / c_steps, rel=1e-6)
    assert after[-1][1]["capacity"] == pytest.approx(c_max, rel=1e-6)  # plateau after capacity_steps
