"""Fan a sweep out over GPU workers: one flow run of the `train-one` deployment per configuration.

Submission goes through `prefect.deployments.run_deployment` (the flow runs appear as subflows of the
sweep); outcomes are read back from MLflow (:mod:`betavae.tracking.worker_runs`). A flow run that crashed
or failed without a diverged MLflow run (a killed worker) is submitted once more and resumes from its
checkpoint when it lands on the machine holding it; a diverged configuration is recorded and never retried.
"""

from __future__ import annotations

import time
from typing import cast
from uuid import UUID

from prefect import get_run_logger
from prefect.client.schemas.objects import FlowRun, State
from prefect.states import Cancelled

from betavae.config import RunConfig
from betavae.tracking.client import git_commit
from betavae.tracking.sweep_record import RunRecord
from betavae.tracking.sweep_run import SweepRun
from betavae.tracking.worker_runs import find_worker_run, worker_record

POLL_SECONDS = 2.0
READ_PAGE = 200  # flow runs per read request (the Prefect API's page limit)
RESUBMITS = 1


def _submit(deployment: str, run: RunConfig, experiment_id: str, parent_id: str, keep: bool, commit: str) -> FlowRun:
    from prefect.deployments import run_deployment

    # called from a synchronous flow, where Prefect's sync-compatible function returns the flow run itself
    return cast(
        FlowRun,
        run_deployment(
            deployment,
            timeout=0,
            as_subflow=True,
            flow_run_name=f"train-{run.name}",
            parameters={
                "run_config": run.to_dict(),
                "experiment_id": experiment_id,
                "parent_run_id": parent_id,
                "keep_checkpoints": keep,
                "git_commit": commit,
            },
        ),
    )


def wait_for_flow_runs(
    flow_run_ids: list[UUID],
    timeout: float | None = None,
    poll_seconds: float = POLL_SECONDS,
    cancel_on_timeout: bool = False,
) -> dict[UUID, State]:
    """Final states of the flow runs, polled from the Prefect API.

    Each poll asks only about the runs not yet final, in pages of `READ_PAGE` ids (one request per page,
    not one per run), so a sweep of 1,000 configurations costs 5 requests a poll, not 1,000. After
    `timeout` seconds, TimeoutError says how many runs are unfinished; with `cancel_on_timeout` they are
    cancelled first, so a sweep nobody picked up (no worker online) does not start hours later.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    deadline = None if timeout is None else time.monotonic() + timeout
    final: dict[UUID, State] = {}
    pending = list(flow_run_ids)
    with get_client(sync_client=True) as client:
        while True:
            for start in range(0, len(pending), READ_PAGE):
                page = pending[start : start + READ_PAGE]
                runs = client.read_flow_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=page)), limit=len(page)
                )
                final.update({r.id: r.state for r in runs if r.state is not None and r.state.is_final()})
            pending = [fid for fid in pending if fid not in final]
            if not pending:
                return {fid: final[fid] for fid in flow_run_ids}
            if deadline is not None and time.monotonic() > deadline:
                if cancel_on_timeout:
                    for fid in pending:
                        client.set_flow_run_state(
                            fid, Cancelled(message=f"not finished within {timeout} s"), force=True
                        )
                raise TimeoutError(
                    f"{len(pending)} of {len(flow_run_ids)} train-one flow runs not finished after {timeout} s"
                )
            time.sleep(poll_seconds)


def train_on_workers(sweep: SweepRun, deployment: str, wait_timeout_s: float | None = None) -> list[RunRecord]:
    """Train every configuration of `sweep` as its own flow run of `deployment`; wait for all (at most
    `wait_timeout_s` seconds a round, after which the unfinished ones are cancelled and TimeoutError is
    raised); return their records, in sweep order. Each flow run carries the commit of this clone, which
    a worker on another commit refuses (:func:`pipelines.train_one.check_same_commit`)."""
    logger = get_run_logger()
    commit = git_commit(sweep.paths.root)
    runs, client, experiment_id, parent_id = sweep.plan.runs, sweep.client, sweep.experiment_id, sweep.parent_run_id
    pending = {run.digest: run for run in runs}
    records: dict[str, RunRecord] = {}
    for attempt in range(RESUBMITS + 1):
        submitted = {
            _submit(deployment, run, experiment_id, parent_id, sweep.plan.keep_checkpoints, commit).id: run
            for run in pending.values()
        }
        logger.info("submitted %d configurations to %s (attempt %d)", len(submitted), deployment, attempt + 1)
        states = wait_for_flow_runs(list(submitted), wait_timeout_s, cancel_on_timeout=True)
        retry = {}
        for fid, run in submitted.items():
            state = states[fid]
            record = worker_record(
                run,
                find_worker_run(client, experiment_id, parent_id, run.digest),
                state.type.value,
                state.message,
                sweep.paths,
            )
            records[run.digest] = record
            if record.status == "failed" and attempt < RESUBMITS:
                retry[run.digest] = run
        pending = retry
        if not pending:
            break
    return [records[run.digest] for run in runs]
