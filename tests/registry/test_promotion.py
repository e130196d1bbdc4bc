"""The promotion gate on a real MLflow store: champion only when beaten, no duplicate versions, lineage
tags, failed runs refused, and two register processes at once leave the champion on the best."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from betavae.config import expand_sweep
from betavae.errors import ConfigError, DataError
from betavae.tracking.client import client_for, ensure_experiment, start_run
from betavae.tracking.promotion import CHALLENGER, CHAMPION, promote_best, register_run
from betavae.tracking.runs import train_and_track
from tests.helpers.runs import InMemoryImages, random_binary_images, tiny_params

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Three finished tiny runs and one diverged run in a sqlite store inside a git work tree."""
    project = tmp_path_factory.mktemp("project")
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e"}
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run(
        ["git", "commit", "-q", "--allow-empty", "-m", "x"], cwd=project, check=True, env={**os.environ, **env}
    )
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True, check=True
    ).stdout.strip()
    with pytest.MonkeyPatch.context() as mp:
        # set through the monkeypatch so that it is removed again: MLflow writes it into os.environ
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{project / 'mlflow.db'}")
        mp.delenv("BETAVAE_LOCK_DIR", raising=False)
        mp.chdir(project)
        data = InMemoryImages(random_binary_images(64, 28), digest="d" * 64)
        params = tiny_params(steps=4, log_every=2, checkpoint_every=4)
        params["sweep"] = {"grid": {"train.beta": [1.0, 2.0, 4.0]}, "seeds": [0]}
        client = client_for(project)
        experiment_id = ensure_experiment(client, "betavae-tiny", project)
        parent = start_run(client, experiment_id, "sweep")
        records = [
            train_and_track(
                r,
                data,
                root=project,
                client=client,
                experiment_id=experiment_id,
                parent_id=parent.run_id,
                progress=False,
            )
            for r in expand_sweep(params, "tiny")
        ]
        diverged_run = expand_sweep(tiny_params(steps=50, lr=1e30), "tiny")[0]
        diverged = train_and_track(
            diverged_run,
            data,
            root=project / "div",
            client=client,
            experiment_id=experiment_id,
            parent_id=parent.run_id,
            progress=False,
        )
        parent.finish()
        assert [r.status for r in records] == ["finished"] * 3 and diverged.status == "diverged"
        yield project, client, records, diverged, commit


def _register(client, record, dataset, value, mode="max", scores=None):
    return register_run(
        client,
        run_id=record.run_id,
        model_source=record.model_uri,
        dataset=dataset,
        metric="m",
        mode=mode,
        value=value,
        scores=scores or {"m": value},
    )


def _aliases(client, dataset):
    model = client.get_registered_model(f"betavae-{dataset}")
    return {k: int(v) for k, v in dict(model.aliases).items()}, len(
        client.search_model_versions(f"name = 'betavae-{dataset}'")
    )


def test_champion_moves_only_when_beaten(store):
    _, client, (a, b, c), _, _ = store
    first = _register(client, a, "gate", 0.6)
    assert (first.version, first.alias, first.created, first.previous_champion) == (1, CHAMPION, True, None)
    worse = _register(client, b, "gate", 0.5)
    assert (worse.version, worse.alias, worse.previous_champion) == (2, CHALLENGER, 1)
    assert _aliases(client, "gate") == ({CHAMPION: 1, CHALLENGER: 2}, 2)
    tie = _register(client, c, "gate-tie", 0.6)
    assert tie.alias == CHAMPION  # first version of another model
    assert _register(client, b, "gate-tie", 0.6).alias == CHALLENGER  # a tie keeps the model in service
    better = _register(client, c, "gate", 0.7)
    assert (better.version, better.alias, better.previous_champion) == (3, CHAMPION, 1)
    assert _aliases(client, "gate") == ({CHAMPION: 3, CHALLENGER: 2}, 3)


def test_lower_is_better_when_the_mode_is_min(store):
    _, client, (a, b, _), _, _ = store
    assert _register(client, a, "gate-min", 120.0, mode="min").alias == CHAMPION
    assert _register(client, b, "gate-min", 130.0, mode="min").alias == CHALLENGER
    assert _aliases(client, "gate-min")[0][CHAMPION] == 1


def test_registering_the_same_run_again_creates_no_version(store):
    _, client, (a, _, _), _, _ = store
    first = _register(client, a, "gate-again", 0.6)
    again = _register(client, a, "gate-again", 0.6)
    assert (again.version, again.created, again.alias) == (first.version, False, CHAMPION)
    assert _aliases(client, "gate-again") == ({CHAMPION: 1}, 1)


def test_version_carries_lineage_and_a_model_card(store):
    _, client, (_, b, _), _, commit = store
    scores = {
        "m": 0.55,
        "mig.score": 0.25,
        "beta_vae.eval_accuracy": 0.875,
        "notes": {"skipped.sap": "no factors"},
    }  # scores.json keeps notes beside the numbers
    entry = _register(client, b, "gate-tags", 0.55, scores=scores)
    version = client.get_model_version("betavae-gate-tags", str(entry.version))
    tags = version.tags
    assert tags["betavae.metric"] == "m" and float(tags["betavae.metric_value"]) == 0.55
    assert tags["betavae.metric_mode"] == "max"
    assert float(tags["betavae.score.mig.score"]) == 0.25
    assert float(tags["betavae.score.beta_vae.eval_accuracy"]) == 0.875
    assert tags["betavae.git_commit"] == commit and len(commit) == 40
    assert tags["betavae.dataset"] == "gate-tags" and tags["betavae.dataset_digest"] == "d" * 64
    assert tags["betavae.run_id"] == b.run_id == version.run_id
    assert (
        tags["betavae.config_digest"]
        == expand_sweep(
            {
                **tiny_params(steps=4, log_every=2, checkpoint_every=4),
                "sweep": {"grid": {"train.beta": [2.0]}, "seeds": [0]},
            },
            "tiny",
        )[0].digest
    )
    assert tags["betavae.param.train.beta"] == "2.0" and tags["betavae.param.model.latent_dim"] == "4"
    assert tags["betavae.library.torch"] == torch.__version__
    assert {"betavae.library.mlflow", "betavae.library.numpy", "betavae.library.betavae"} <= set(tags)
    card = version.description
    assert card.startswith("# betavae-gate-tags: beta_vae on gate-tags")
    assert "`m` (max) = 0.5500" in card and "mig.score = 0.2500" in card and b.run_id in card


def test_failed_and_diverged_runs_are_never_registered(store):
    _, client, (a, _, _), diverged, _ = store
    with pytest.raises(DataError, match="status FAILED"):
        register_run(
            client,
            run_id=diverged.run_id,
            model_source="runs:/x/model",
            dataset="gate-fail",
            metric="m",
            mode="max",
            value=0.9,
            scores={},
        )
    runs = [diverged, dataclasses.replace(a, status="failed")]
    with pytest.raises(ConfigError, match="no finished run"):
        promote_best(client, runs, {diverged.name: {"m": 0.9}, a.name: {"m": 0.5}}, "gate-fail", metric="m", mode="max")
    with pytest.raises(DataError, match="not finite"):
        _register(client, a, "gate-fail", float("nan"))
    assert client.search_registered_models("name = 'betavae-gate-fail'") == []


def _race(store, dataset: str, contenders, tmp_path: Path, lock_dirs: list[str | None]) -> list[dict]:
    project, _, _, _, _ = store
    go = tmp_path / f"go-{dataset}"
    procs = []
    for i, ((record, value), lock_dir) in enumerate(zip(contenders, lock_dirs, strict=True)):
        env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "BETAVAE_LOCK_DIR")}
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
        if lock_dir:
            env["BETAVAE_LOCK_DIR"] = lock_dir
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.registry.register_process",
                    str(project),
                    record.run_id,
                    record.model_uri,
                    dataset,
                    str(value),
                    str(go),
                    str(tmp_path / f"{dataset}-{i}.json"),
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"{dataset}-{i}.json.ready").exists() for i in range(len(procs))):
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs), "racers did not start"
        time.sleep(0.05)
    go.touch()  # both processes have imported mlflow and opened the store: release them together
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, out[-3000:]
    return [json.loads((tmp_path / f"{dataset}-{i}.json").read_text()) for i in range(len(procs))]


@pytest.mark.parametrize("separate_locks", [False, True], ids=["one-machine", "two-machines"])
def test_two_register_processes_at_once_leave_the_best_as_champion(store, tmp_path, separate_locks):
    _, client, (a, b, c), _, _ = store
    dataset = f"race-{int(separate_locks)}"
    assert _register(client, a, dataset, 0.6).alias == CHAMPION
    locks = [str(tmp_path / "lock-x"), str(tmp_path / "lock-y")] if separate_locks else [None, None]
    worse, best = _race(store, dataset, [(b, 0.5), (c, 0.7)], tmp_path, locks)
    assert sorted([worse["version"], best["version"]]) == [2, 3]
    aliases, count = _aliases(client, dataset)
    assert count == 3
    assert aliases[CHAMPION] == best["version"]
    assert best["alias"] == CHAMPION and worse["alias"] == CHALLENGER
    assert aliases[CHALLENGER] == worse["version"]
