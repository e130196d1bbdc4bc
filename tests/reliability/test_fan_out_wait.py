"""The GPU fan-out's wait on a real Prefect server: one request per page of unfinished runs, not per run,
and a bounded wait that names what is still running."""

from __future__ import annotations

import httpx
import pytest

from pipelines import fan_out
from pipelines.prefect_server import temporary_prefect_server


@pytest.fixture(scope="module")
def prefect_api(tmp_path_factory):
    with temporary_prefect_server(tmp_path_factory.mktemp("prefect")) as url:
        yield url


def _flow_runs(n_finished: int, n_scheduled: int):
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.states import Completed, Scheduled

    @flow(name="fan-out-wait-test")
    def noop() -> None:
        return None

    with get_client(sync_client=True) as client:
        done = [client.create_flow_run(noop, state=Completed()).id for _ in range(n_finished)]
        waiting = [client.create_flow_run(noop, state=Scheduled()).id for _ in range(n_scheduled)]
    return done, waiting


def _count_requests(monkeypatch) -> list[int]:
    count = [0]
    send = httpx.Client.send

    def counting(self, *args, **kwargs):
        count[0] += 1
        return send(self, *args, **kwargs)

    monkeypatch.setattr(httpx.Client, "send", counting)
    return count


def test_finished_flow_runs_are_read_a_page_at_a_time(prefect_api, monkeypatch):
    n = 2 * fan_out.READ_PAGE + 5
    done, _ = _flow_runs(n, 0)
    requests = _count_requests(monkeypatch)
    states = fan_out.wait_for_flow_runs(done, timeout=60)
    assert list(states) == done and all(s.is_completed() for s in states.values())
    assert requests[0] <= 3 + 2  # three pages, plus the client's own start-up calls at most


def test_a_wait_past_its_timeout_says_how_many_runs_are_unfinished(prefect_api, monkeypatch):
    done, waiting = _flow_runs(3, 2)
    with pytest.raises(TimeoutError, match=r"2 of 5 train-one flow runs not finished after 0 s"):
        fan_out.wait_for_flow_runs(done + waiting, timeout=0)
