"""Two runs started at once log the same dataset: the one that loses the insert race is still linked to it.

The race itself is reproduced on PostgreSQL by `tests/integration/test_shared_store_load.py`; here the
store's answer to the loser is given directly, so the retry is checked on every run of the suite.
"""

from __future__ import annotations

import pytest

from betavae.tracking.ui import log_dataset
from tests.helpers.runs import InMemoryImages, random_binary_images

LOSER = 'BAD_REQUEST: (psycopg2.errors.UniqueViolation) duplicate key value violates unique constraint "dataset_pk"'


class Store:
    """The part of MlflowClient that `log_dataset` calls, answering each call with the next outcome."""

    def __init__(self, *outcomes: Exception | None) -> None:
        self.outcomes = list(outcomes)
        self.logged: list[str] = []

    def log_inputs(self, run_id: str, datasets: list) -> None:
        outcome = self.outcomes.pop(0)
        if outcome is not None:
            raise outcome
        self.logged.append(datasets[0].dataset.digest)


def test_the_run_that_loses_the_dataset_insert_race_logs_it_again():
    store = Store(RuntimeError(LOSER), None)
    log_dataset(store, "r1", InMemoryImages(random_binary_images(8, 28), digest="ab" * 32), "tiny")
    assert store.logged == ["ab" * 8] and store.outcomes == []


def test_other_store_errors_are_not_retried():
    store = Store(RuntimeError("RESOURCE_DOES_NOT_EXIST: run r1 not found"), None)
    with pytest.raises(RuntimeError, match="not found"):
        log_dataset(store, "r1", InMemoryImages(random_binary_images(8, 28), digest="ab" * 32), "tiny")
    assert store.logged == [] and len(store.outcomes) == 1
