"""The training task's retry policy, on a real (temporary) Prefect server: infrastructure errors are
retried, a diverged run or a configuration error is not."""

from __future__ import annotations

import pytest
from prefect import flow, task
from prefect.testing.utilities import prefect_test_harness

from betavae.errors import ConfigError, TrainingDiverged
from pipelines.train import _retry_infrastructure_only

pytestmark = pytest.mark.slow

ATTEMPTS: dict[str, int] = {}


@task(retries=2, retry_delay_seconds=0, retry_condition_fn=_retry_infrastructure_only)
def flaky(kind: str) -> str:
    ATTEMPTS[kind] = ATTEMPTS.get(kind, 0) + 1
    if kind == "io" and ATTEMPTS[kind] < 3:
        raise OSError("worker lost its scratch disk")
    if kind == "diverged":
        raise TrainingDiverged("non-finite loss nan at step 3")
    if kind == "config":
        raise ConfigError("train.beta must be >= 0")
    return "ok"


@flow
def run_flaky(kind: str) -> str:
    return flaky(kind)


@pytest.fixture(scope="module", autouse=True)
def prefect_server(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PREFECT_HOME", str(tmp_path_factory.mktemp("prefect-home")))
        with prefect_test_harness(server_startup_timeout=120):
            yield


def test_infrastructure_error_is_retried_until_success():
    assert run_flaky("io") == "ok"
    assert ATTEMPTS["io"] == 3


@pytest.mark.parametrize("kind, error", [("diverged", TrainingDiverged), ("config", ConfigError)])
def test_divergence_and_config_errors_are_not_retried(kind, error):
    with pytest.raises(error):
        run_flaky(kind)
    assert ATTEMPTS[kind] == 1
