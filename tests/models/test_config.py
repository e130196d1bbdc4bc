import pytest

from betavae.errors import ConfigError
from betavae.models import (
    OBJECTIVE_KEYS,
    ModelConfig,
    ObjectiveConfig,
    objective_config,
)


def test_model_config_from_dict_round_trip():
    cfg = ModelConfig.from_dict({"architecture": "conv64", "latent_dim": 6, "likelihood": "gaussian"})
    assert cfg.latent_dim == 6
    assert cfg.gaussian_variance == "fixed"
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize(
    ("d", "message"),
    [
        ({"architecture": "mlp64", "latent_dim": 0}, "model.latent_dim must be >= 1, got 0"),
        ({"architecture": "mlp64", "latent_dim": 2.5}, "model.latent_dim must be an integer"),
        ({"architecture": "resnet", "latent_dim": 4}, "model.architecture: unknown architecture 'resnet'"),
        ({"architecture": "mlp64", "latent_dim": 4, "likelihood": "poisson"}, "model.likelihood"),
        ({"architecture": "mlp64", "latent_dim": 4, "depth": 3}, "model.depth"),
        ({"latent_dim": 4}, "missing required key(s) model.architecture"),
    ],
)
def test_model_config_rejects_bad_values(d, message):
    with pytest.raises(ConfigError) as err:
        ModelConfig.from_dict(d)
    assert message in str(err.value)


def test_unknown_objective_names_key_and_choices():
    with pytest.raises(ConfigError) as err:
        ObjectiveConfig.from_dict({"objective": "foo"})
    msg = str(err.value)
    assert msg.startswith("train.objective: unknown objective 'foo'; expected one of ")
    assert "beta_tcvae" in msg and "factor_vae" in msg


def test_negative_beta_names_key():
    with pytest.raises(ConfigError, match=r"^train\.beta must be >= 0\.0, got -1\.0$"):
        ObjectiveConfig.from_dict({"objective": "beta_vae", "beta": -1.0})


@pytest.mark.parametrize(
    ("d", "key"),
    [
        ({"objective": "beta_vae_b", "capacity_steps": 0}, "train.capacity_steps"),
        ({"objective": "beta_tcvae", "tc_estimator": "exact"}, "train.tc_estimator"),
        ({"objective": "isa_vae", "isa_p0": 0.0}, "train.isa_p0"),
        ({"objective": "isa_vae", "isa_layout": [2, 0]}, "train.isa_layout"),
        ({"objective": "denoising_ae", "corruption": 1.0}, "train.corruption"),
        ({"objective": "beta_vae", "beta": float("nan")}, "train.beta"),
        ({"objective": "beta_vae", "beta": True}, "train.beta"),
        ({"objective": "beta_vae", "lr": 1e-3}, "train.lr"),
    ],
)
def test_objective_config_rejects_bad_values(d, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        ObjectiveConfig.from_dict(d)


def test_objective_keys_are_the_config_fields():
    assert "objective" in OBJECTIVE_KEYS and "beta" in OBJECTIVE_KEYS and "capacity_max" in OBJECTIVE_KEYS
    assert "lr" not in OBJECTIVE_KEYS
    cfg = ObjectiveConfig.from_dict({"objective": "isa_vae", "isa_layout": [2, 3], "beta": 2})
    assert set(cfg.to_dict()) == {"objective", "beta", "isa_layout", "isa_p0", "isa_p", "isa_learn_exponents"}
    assert set(cfg.to_dict()) < OBJECTIVE_KEYS
    assert cfg.isa_layout == (2, 3) and cfg.beta == 2.0
    assert ObjectiveConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize(
    ("objective", "settings", "weight"), [("ae", {}, 0.0), ("vae", {}, 1.0), ("beta_vae", {"beta": 4.0}, 4.0)]
)
def test_kl_weight_of_the_beta_family(objective, settings, weight):
    assert objective_config(objective, **settings).kl_weight == weight


@pytest.mark.parametrize(
    ("objective", "key"), [("ae", "beta"), ("vae", "beta"), ("beta_vae", "gamma"), ("factor_vae", "capacity_max")]
)
def test_a_setting_of_another_objective_is_an_error(objective, key):
    with pytest.raises(ConfigError, match=rf"^train\.{key}: not a setting of train\.objective '{objective}'"):
        objective_config(objective, **{key: 7.0})


def test_stored_configurations_with_every_objective_key_still_load():
    """Runs recorded before one config per objective stored every objective's key; they load leniently."""
    old = {"objective": "ae", "beta": 1.0, "gamma": 1.0, "capacity_steps": 100000, "isa_layout": None}
    assert ObjectiveConfig.from_dict(old, lenient=True) == objective_config("ae")
