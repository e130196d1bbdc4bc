"""train.beta_schedule: known factors, the scaled objectives, validation, and digests left unchanged."""

import pytest
import torch

from betavae.config.objectives import BetaSchedule, ObjectiveConfig
from betavae.errors import ConfigError
from betavae.models import ModelConfig, build_model, build_objective, objective_config
from betavae.models.objectives import beta_factor

LINEAR = BetaSchedule("linear", 1000)
WARM = BetaSchedule("linear", 100, start=0.2)
CYCLIC = BetaSchedule("cyclic", 100)  # ramp 0.5: 0 -> 1 over 50 steps, 1 for the next 50
CYCLIC_R = BetaSchedule("cyclic", 40, start=0.5, ramp=0.25)


@pytest.mark.parametrize(
    ("schedule", "step", "expected"),
    [
        (None, 0, 1.0),
        (None, 10**6, 1.0),
        (LINEAR, 0, 0.0),
        (LINEAR, 250, 0.25),
        (LINEAR, 1000, 1.0),
        (LINEAR, 7000, 1.0),
        (WARM, 0, 0.2),
        (WARM, 50, 0.6),
        (WARM, 100, 1.0),
        (CYCLIC, 0, 0.0),
        (CYCLIC, 25, 0.5),
        (CYCLIC, 50, 1.0),
        (CYCLIC, 99, 1.0),
        (CYCLIC, 100, 0.0),
        (CYCLIC, 125, 0.5),
        (CYCLIC_R, 5, 0.75),
        (CYCLIC_R, 10, 1.0),
        (CYCLIC_R, 45, 0.75),
    ],
)
def test_beta_factor_known_values(schedule, step, expected):
    assert beta_factor(schedule, step) == pytest.approx(expected)


def test_beta_factor_refuses_a_negative_step():
    with pytest.raises(ValueError, match="step must be >= 0"):
        beta_factor(LINEAR, -1)


def _batch():
    torch.manual_seed(0)
    model = build_model(ModelConfig("mlp28", 3), (28, 28, 1))
    x = (torch.rand(6, 1, 28, 28) < 0.3).float()
    return model, x


@pytest.mark.parametrize("step", [0, 30, 100])
def test_scheduled_beta_vae_total(step):
    model, x = _batch()
    cfg = objective_config("beta_vae", beta=4.0, beta_schedule={"kind": "linear", "steps": 60})
    torch.manual_seed(1)
    terms = build_objective(cfg, 3, 100)(model, x, step=step)
    factor = min(1.0, step / 60)
    assert terms["beta_factor"].item() == pytest.approx(factor)
    assert torch.allclose(terms["total"], terms["reconstruction"] + 4.0 * factor * terms["kl"])


def test_scheduled_vae_is_kl_annealing():
    model, x = _batch()
    cfg = objective_config("vae", beta_schedule={"kind": "linear", "steps": 10})
    terms = build_objective(cfg, 3, 100)(model, x, step=5)
    assert torch.allclose(terms["total"], terms["reconstruction"] + 0.5 * terms["kl"])


def test_scheduled_beta_tcvae_scales_only_the_tc_term():
    model, x = _batch()
    cfg = objective_config(
        "beta_tcvae", alpha=0.5, beta=6.0, gamma=2.0, beta_schedule={"kind": "cyclic", "steps": 20, "ramp": 0.5}
    )
    terms = build_objective(cfg, 3, 100)(model, x, step=25)  # 5 steps into a 10-step ramp: factor 0.5
    expected = terms["reconstruction"] + 0.5 * terms["mi"] + 3.0 * terms["tc"] + 2.0 * terms["dwkl"]
    assert torch.allclose(terms["total"], expected)


def test_scheduled_isa_vae_total():
    model, x = _batch()
    cfg = objective_config("isa_vae", beta=2.0, beta_schedule={"kind": "linear", "steps": 4, "start": 0.5})
    terms = build_objective(cfg, 3, 100)(model, x, step=2)
    assert torch.allclose(terms["total"], terms["reconstruction"] + 2.0 * 0.75 * terms["kl"])


def test_a_constant_beta_logs_no_factor_and_keeps_its_configuration():
    cfg = objective_config("beta_vae", beta=4.0)
    assert cfg.to_dict() == {"objective": "beta_vae", "beta": 4.0}
    model, x = _batch()
    assert "beta_factor" not in build_objective(cfg, 3, 100)(model, x, step=3)


def test_a_schedule_round_trips_through_its_dict():
    cfg = objective_config("beta_tcvae", beta=6.0, beta_schedule={"kind": "linear", "steps": 7000})
    d = cfg.to_dict()
    assert d["beta_schedule"] == {"kind": "linear", "steps": 7000, "start": 0.0, "ramp": None}
    assert ObjectiveConfig.from_dict(d) == cfg


@pytest.mark.parametrize(
    ("objective", "schedule", "message"),
    [
        ("beta_vae", "linear", r"train.beta_schedule must be a mapping"),
        ("beta_vae", {"kind": "cosine", "steps": 10}, r"train.beta_schedule.kind"),
        ("beta_vae", {"kind": "linear"}, r"needs kind and steps"),
        ("beta_vae", {"kind": "linear", "steps": 0}, r"train.beta_schedule.steps must be >= 1"),
        ("beta_vae", {"kind": "linear", "steps": True}, r"train.beta_schedule.steps must be an integer"),
        ("beta_vae", {"kind": "linear", "steps": 10, "start": 1.5}, r"train.beta_schedule.start must be <= 1"),
        ("beta_vae", {"kind": "linear", "steps": 10, "ramp": 0.3}, r"only a cyclic schedule takes a ramp"),
        ("beta_vae", {"kind": "cyclic", "steps": 10, "ramp": 0}, r"train.beta_schedule.ramp must be > 0"),
        ("beta_vae", {"kind": "linear", "steps": 10, "every": 3}, r"unknown key\(s\) train.beta_schedule.every"),
        ("ae", {"kind": "linear", "steps": 10}, r"train.beta_schedule: not a setting of train.objective 'ae'"),
        ("factor_vae", {"kind": "linear", "steps": 10}, r"not a setting of train.objective 'factor_vae'"),
    ],
)
def test_bad_schedules_are_refused_naming_the_key(objective, schedule, message):
    with pytest.raises(ConfigError, match=message):
        objective_config(objective, beta_schedule=schedule)
