"""The suite: flat keys, validation before work, independent streams per metric, parameter sets."""

from __future__ import annotations

import numpy as np
import pytest

from betavae.config import load_params
from betavae.errors import ConfigError
from betavae.metrics import suite
from tests.helpers.project_copy import ROOT
from tests.helpers.synthetic import CountingRepresentation, SyntheticGrid, mixed


def test_flat_keys_name_metric_and_score(grid: SyntheticGrid) -> None:
    scores = suite.evaluate(
        grid,
        mixed,
        np.random.default_rng(0),
        {
            "mig": {"num_train": 200},
            "factor_vae": {"batch_size": 8, "num_train": 20, "num_eval": 20, "num_variance_estimate": 100},
        },
    )
    assert {"mig.score", "factor_vae.eval_accuracy", "factor_vae.train_accuracy", "factor_vae.num_active_dims"} <= set(
        scores
    )
    assert {f"mig.gap.{j}" for j in range(6)} <= set(scores)
    assert all(isinstance(v, float) for v in scores.values())


def test_each_metric_has_its_own_stream(grid: SyntheticGrid) -> None:
    mig_params = {"num_train": 300}
    alone = suite.evaluate(grid, mixed, np.random.default_rng(3), {"mig": mig_params})
    together = suite.evaluate(
        grid, mixed, np.random.default_rng(3), {"sap": {"num_train": 50, "num_test": 50}, "mig": mig_params}
    )
    assert alone["mig.score"] == together["mig.score"]
    other_seed = suite.evaluate(grid, mixed, np.random.default_rng(4), {"mig": mig_params})
    assert other_seed["mig.score"] != alone["mig.score"]


def test_bad_names_and_settings_fail_before_encoding(grid: SyntheticGrid) -> None:
    counting = CountingRepresentation(mixed)
    with pytest.raises(ConfigError, match="unknown metric"):
        suite.evaluate(grid, counting, np.random.default_rng(0), {"mig": {}, "irs": {}})
    with pytest.raises(ConfigError, match="need the model"):
        suite.evaluate(grid, counting, np.random.default_rng(0), {"reconstruction": {}})
    with pytest.raises(ConfigError, match="sap.c"):
        suite.evaluate(grid, counting, np.random.default_rng(0), {"mig": {}, "sap": {"c": 0.1}})
    with pytest.raises(ConfigError, match="beta_vae.batch_size must be >= 1, got 0"):
        suite.evaluate(grid, counting, np.random.default_rng(0), {"beta_vae": {"batch_size": 0}})
    assert counting.calls == 0


def test_describe_fills_in_defaults() -> None:
    full = suite.describe({"mig": None, "dci": {"estimator": "hist_gbt"}})
    assert full["mig"] == {"num_train": 10000, "num_bins": 20}
    assert full["dci"]["estimator"] == "hist_gbt" and full["dci"]["n_estimators"] == 100


def test_parameter_sets() -> None:
    profiles = load_params(ROOT / "params.yaml")["evaluate"]["profiles"]  # the one home of the profiles
    ref = suite.describe(profiles["reference"])
    assert set(ref) == set(suite.METRICS)
    assert ref["beta_vae"] == {
        "protocol": "locatello2019",
        "batch_size": 64,
        "num_train": 10000,
        "num_eval": 5000,
        "classifier_max_iter": 1000,
    }
    # "reference" numbers are the reference study's: DCI by exact gradient boosting; the faster
    # histogram estimator is the cpu profile's, under its own name.
    assert ref["dci"]["estimator"] == "gbt" and suite.describe(profiles["cpu"])["dci"]["estimator"] == "hist_gbt"
    assert ref["factor_vae"]["num_variance_estimate"] == 10000 and ref["factor_vae"]["prune_threshold"] == 0.05
    assert ref["mig"] == {"num_train": 10000, "num_bins": 20}
    assert (ref["sap"]["num_train"], ref["sap"]["num_test"], ref["sap"]["C"]) == (10000, 5000, 0.01)
    # The reference BetaVAE score alone draws more images than dSprites' 737,280.
    assert suite.planned_draws({"beta_vae": profiles["reference"]["beta_vae"]}) == 1_920_000
    cpu = suite.describe(profiles["cpu"])
    assert set(cpu) == set(suite.METRICS)
    assert suite.planned_draws(profiles["cpu"]) < suite.planned_draws(profiles["reference"])


def test_the_suite_runs_exactly_the_metrics_whose_settings_config_checks() -> None:
    """`evaluate` is validated against betavae.config.metrics; the suite must run the same metrics, in the
    same order, each reading the settings class that validation used."""
    from betavae.config.metrics import METRIC_SETTINGS

    assert list(suite.METRICS) == list(METRIC_SETTINGS)
    for name, module in suite.METRICS.items():
        assert module.Params is METRIC_SETTINGS[name] and module.NAME == name
