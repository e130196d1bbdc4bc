"""How the stages after training scale with the number of configurations in a sweep (`--sections scale`).

    python -m benchmarks --sections scale --runs 10 100 1000

For each N a fresh copy of the repository (`git archive HEAD`) gets a `params.yaml` whose sweep has N
configurations (N/2 values of beta x 2 seeds) of a small model (conv64, Burgess et al. 2018, a few MB
a package) on the procedural blobs data, trained for 2 steps: real MLflow runs in a real sqlite store,
a real sweep record and real (almost untrained) weights. Every stage then runs as `dvc repro
--single-item <stage>@blobs`, reporting to one Prefect server started for the benchmark, and a last
`dvc repro` with nothing to do. Per stage: wall seconds,
peak resident memory of the stage (dvc and the processes it waited for, from `wait4`) and the size of
what it wrote. Evaluation uses a reduced metric set (the `scale` profile below: MIG on 1,000 points, no
Fig. 5 table baselines), so the figure is the stage's own cost per run, not the metrics'.

Checks at each N: `metrics/blobs/scores.json` has N entries, the report's run table N rows, and MLflow
returns all N runs of the sweep (paged past its 1,000-run result limit).

`fan_out_wait` times the wait of the GPU fan-out (:func:`pipelines.fan_out.wait_for_flow_runs`) on N
finished flow runs of a real Prefect server, with the number of API requests it made.
"""

from __future__ import annotations

import io
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
DATASET = "blobs"
STAGES = ("acquire", "validate", "train", "evaluate", "render", "register", "report")
#: What each stage writes (relative to the project), for the size column.
OUTPUTS = {
    "acquire": ("data/datasets/blobs",),
    "validate": ("data/validation/blobs",),
    "train": ("models/blobs", "mlflow.db", "mlruns"),
    "evaluate": ("metrics/blobs",),
    "render": ("plots/blobs",),
    "register": ("models/blobs/registered.json",),
    "report": ("reports/blobs",),
}


def sweep_params(n_runs: int) -> dict[str, Any]:
    """`params.yaml` of a sweep with `n_runs` configurations (an even number): N/2 betas x seeds 0, 1."""
    betas = [round(1.0 + 0.01 * i, 2) for i in range(n_runs // 2)]
    return {
        "data": {"train_on": [DATASET], "datasets": {DATASET: {"kind": "blobs", "source": "procedural", "grid": 8}}},
        "model": {"architecture": "conv64", "latent_dim": 3, "likelihood": "bernoulli"},
        "train": {
            "objective": "beta_vae",
            "beta": 4.0,
            "steps": 2,
            "batch_size": 16,
            "optimizer": "adam",
            "lr": 0.001,
            "seed": 0,
            "device": "cpu",
            "num_threads": 1,
            "checkpoint_every": 2,
            "log_every": 1,
        },
        "sweep": {"name": f"scale-{n_runs}", "grid": {"train.beta": betas}, "seeds": [0, 1]},
        "evaluate": {
            "seed": 0,
            "num_threads": 1,
            "reconstruction_samples": 64,
            "profile": "scale",
            "table": {
                "metric": "mig",
                "score": "score",
                "classifier_seeds": [0],
                "baselines": [],
                "fit_samples": 64,
            },
            "profiles": {"scale": {"mig": {"num_train": 1000, "num_bins": 20}}},
        },
        "render": {"limit": 2.0, "steps": 3, "seed_images": 1, "kl_samples": 32, "seed": 0},
        "register": {"metric": "mig.score", "mode": "max", "alias": "champion"},
    }


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0


def _run_measured(cmd: list[str], cwd: Path, env: dict[str, str], log: Path) -> tuple[float, float]:
    """Run `cmd`; return (wall seconds, peak RSS in MiB of it and the processes it waited for)."""
    started = time.perf_counter()
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode} in {cwd}:\n{tail}")
    return seconds, usage.ru_maxrss / 1024  # Linux reports KiB


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def head_commit() -> str:
    """The commit every size of one benchmark run copies (later commits made during the run do not count)."""
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout.strip()


def make_project(dest: Path, n_runs: int, commit: str = "HEAD") -> Path:
    """A copy of the repository at `commit` in `dest` with the sweep of `n_runs` configurations, committed."""
    archive = subprocess.run(["git", "archive", commit], cwd=REPO, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    (dest / "params.yaml").write_text(yaml.safe_dump(sweep_params(n_runs), sort_keys=False))
    _git(dest, "init", "-q")
    _git(dest, "-c", "user.name=bench", "-c", "user.email=bench@localhost", "add", "-A")
    _git(dest, "-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit", "-qm", "scale")
    return dest


@contextmanager
def prefect_server(workdir: Path) -> Iterator[str]:
    """One temporary Prefect server for every stage of the benchmark (a stage would start its own)."""
    from pipelines.prefect_server import temporary_prefect_server

    with temporary_prefect_server(workdir) as url:
        assert url is not None
        yield url


def _report_rows(report: Path) -> int:
    html = report.read_text(encoding="utf-8")
    table = html.split('<table id="runs-table"', 1)[1].split("</table>", 1)[0]
    return table.count("<tr>") - 1  # the header row


def _mlflow_sweep_runs(project: Path) -> int:
    from betavae.tracking.client import all_runs, client_for
    from betavae.tracking.sweep_record import read_sweep_record

    record = read_sweep_record(project / "models" / DATASET / "sweep.json")
    query = f"tags.mlflow.parentRunId = '{record.parent_run_id}'"
    return sum(1 for _ in all_runs(client_for(project), [record.experiment_id], query))


def measure_stages(n_runs: int, api_url: str, workdir: Path, commit: str = "HEAD") -> dict[str, Any]:
    """Every stage on a fresh project with a sweep of `n_runs` configurations; see the module doc."""
    project = make_project(workdir / f"project-{n_runs}", n_runs, commit)
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env |= {"PREFECT_API_URL": api_url, "OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1"}
    dvc = shutil.which("dvc", path=env["PATH"]) or "dvc"
    log = workdir / f"stages-{n_runs}.log"
    rows = []
    for stage in STAGES:
        seconds, rss = _run_measured([dvc, "repro", "--single-item", f"{stage}@{DATASET}"], project, env, log)
        sizes = {p: _size(project / p) for p in OUTPUTS[stage]}
        size = sum(sizes.values())
        rows.append(
            {"stage": stage, "seconds": round(seconds, 1), "peak_rss_mib": round(rss), "bytes": size, "outputs": sizes}
        )
        print(f"  N={n_runs} {stage}: {seconds:.1f} s, {rss:.0f} MiB, {size / 1e6:.1f} MB", file=sys.stderr)
    seconds, rss = _run_measured([dvc, "repro"], project, env, log)
    nothing = "Data and pipelines are up to date" in log.read_text(errors="replace").rsplit("repro", 1)[-1]
    rows.append({"stage": "dvc repro (no-op)", "seconds": round(seconds, 1), "peak_rss_mib": round(rss), "bytes": 0})
    scores = json.loads((project / "metrics" / DATASET / "scores.json").read_text())
    report = project / "reports" / DATASET / "index.html"
    checks = {
        "scores": len(scores),
        "report_rows": _report_rows(report),
        "mlflow_runs": _mlflow_sweep_runs(project),
        "report_index_bytes": report.stat().st_size,
        "noop_repro_up_to_date": nothing,
    }
    files = sorted(
        (p for p in project.rglob("*") if p.is_file() and ".git" not in p.parts), key=lambda p: p.stat().st_size
    )
    checks["largest_files"] = {str(p.relative_to(project)): p.stat().st_size for p in files[-5:]}
    expected = {"scores": n_runs, "report_rows": n_runs, "mlflow_runs": n_runs}
    wrong = {k: (checks[k], v) for k, v in expected.items() if checks[k] != v}
    if wrong or not nothing:
        raise RuntimeError(f"N={n_runs}: got (value, expected) {wrong}; no-op repro up to date: {nothing}")
    return {"runs": n_runs, "stages": rows, "checks": checks}


def measure_fan_out_wait(n_runs: int) -> dict[str, Any]:
    """Create `n_runs` finished flow runs on the current Prefect server and time the fan-out's wait on them,
    counting its API requests."""
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.states import Completed

    from pipelines import fan_out

    @flow(name="scale-noop")
    def noop() -> None:
        return None

    with get_client(sync_client=True) as client:
        flow_id = client.create_flow(noop)
        ids = []
        started = time.perf_counter()
        for i in range(n_runs):
            run = client.create_flow_run(noop, name=f"noop-{i}", state=Completed())
            ids.append(run.id)
        create_seconds = time.perf_counter() - started
    del flow_id
    requests = 0
    import httpx

    original = httpx.Client.send

    def counting_send(self: httpx.Client, *args: Any, **kwargs: Any) -> Any:
        nonlocal requests
        requests += 1
        return original(self, *args, **kwargs)

    httpx.Client.send = counting_send  # type: ignore[method-assign]
    try:
        started = time.perf_counter()
        states = fan_out.wait_for_flow_runs(ids, timeout=600)
        wait_seconds = time.perf_counter() - started
    finally:
        httpx.Client.send = original  # type: ignore[method-assign]
    if len(states) != n_runs or not all(s.is_completed() for s in states.values()):
        raise RuntimeError(f"fan-out wait returned {len(states)} states for {n_runs} completed flow runs")
    return {
        "runs": n_runs,
        "create_seconds": round(create_seconds, 1),
        "wait_seconds": round(wait_seconds, 2),
        "requests": requests,
    }


def measure(sizes: list[int]) -> dict[str, Any]:
    """The stage table and the fan-out wait for each N in `sizes` (even numbers)."""
    from betavae.errors import ConfigError

    bad = [n for n in sizes if n < 2 or n % 2]
    if bad:
        raise ConfigError(f"--runs must be even numbers >= 2 (N/2 betas x 2 seeds), got {bad}")
    commit = head_commit()
    result: dict[str, Any] = {"commit": commit, "sizes": [], "fan_out_wait": []}
    with tempfile.TemporaryDirectory(prefix="betavae-scale-") as tmp:
        workdir = Path(tmp)
        with prefect_server(workdir) as url:
            for n in sizes:
                result["sizes"].append(measure_stages(n, url, workdir, commit))
                result["fan_out_wait"].append(measure_fan_out_wait(n))
                shutil.rmtree(workdir / f"project-{n}", ignore_errors=True)
    result["peak_rss_benchmark_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return result


def format_scale(result: dict[str, Any]) -> list[str]:
    """The stage table: one row per stage, a column group per N."""
    sizes = result["sizes"]
    if not sizes:
        return []
    head = "".join(f" | N={s['runs']}: s, MiB, MB" for s in sizes)
    lines = ["", f"stage{head}"]
    for i, row in enumerate(sizes[0]["stages"]):
        cells = "".join(
            f" | {s['stages'][i]['seconds']:.1f}, {s['stages'][i]['peak_rss_mib']}, {s['stages'][i]['bytes'] / 1e6:.1f}"
            for s in sizes
        )
        lines.append(f"{row['stage']}{cells}")
    for s in sizes:
        lines.append(f"N={s['runs']} checks: {s['checks']}")
    for w in result.get("fan_out_wait", []):
        lines.append(
            f"fan-out wait on {w['runs']} finished flow runs: {w['wait_seconds']} s, {w['requests']} API requests"
        )
    return [re.sub(r"\s+$", "", line) for line in lines]
