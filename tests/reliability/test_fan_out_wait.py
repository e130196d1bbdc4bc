"""The GPU fan-out's wait on a real Prefect server: one request per page of unfinished runs, not per run,
and a bounded wait that names what is still running."""

from __future__ import annotations

import subprocess

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


def test_a_wait_past_its_timeout_cancels_the_unfinished_runs_and_says_how_many(prefect_api):
    from prefect.client.orchestration import get_client

    done, waiting = _flow_runs(3, 2)
    with pytest.raises(TimeoutError, match=r"2 of 5 train-one flow runs not finished after 0 s"):
        fan_out.wait_for_flow_runs(done + waiting, timeout=0, cancel_on_timeout=True)
    with get_client(sync_client=True) as client:
        states = {fid: client.read_flow_run(fid).state for fid in done + waiting}
    assert [states[fid].type.value for fid in waiting] == ["CANCELLED", "CANCELLED"]
    assert all(states[fid].is_completed() for fid in done)  # finished runs are left as they are
    assert states[waiting[0]].message == "not finished within 0 s"


def test_a_worker_on_another_commit_refuses_the_configuration(tmp_path):
    from betavae.errors import ConfigError
    from pipelines.train_one import check_same_commit, train_one

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "x"],
        cwd=tmp_path,
        check=True,
    )
    here = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True).stdout.strip()
    check_same_commit(tmp_path, here)  # the same commit: accepted
    check_same_commit(tmp_path, None)  # a sweep that names none (submitted by hand): accepted
    with pytest.raises(ConfigError) as err:
        train_one.fn({}, "1", "p", root=str(tmp_path), git_commit="0" * 40)  # refused before anything else
    assert str(err.value) == (
        f"this worker's clone {tmp_path} is at commit {here}, but the sweep was planned at {'0' * 40}; "
        "check that commit out on the worker (git fetch && git checkout) and restart it"
    )
