"""Run a config (by default the paper-scale profile of Higgins et al. 2017 Fig. 5 (left)) as a DVC
experiment and write its result to docs/results.

    python -m pipelines.paper_scale [--config configs/higgins2017-fig5.yaml] [--dry-run]

One command for a GPU worker (a clone with `make run`'s environment). Every key of the config file
replaces the same key of `params.yaml`: the merged parameters are checked first, then the experiment runs
as `dvc exp run --temp -S ++key=value ...` in a copy of the repository, so `params.yaml`, `dvc.lock` and
the workspace's outputs stay as they were (a later `dvc repro` has nothing to redo), while the runs and
registry entries go to the repository's tracking store (:func:`betavae.paths.workspace_of`) and `dvc exp
show` lists the experiment. Its result is then committed from the experiment's own commit: the score files
under `docs/results/data/<config name>/` and `docs/results/<config name>.md`, with tables generated from
them, the command, the commit, the device, the wall time and the budget
(:func:`betavae.report.results_docs.write_results_doc`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from betavae.config.per_dataset import datasets_to_train
from betavae.config.whole import check_params
from betavae.errors import BetavaeError
from betavae.evaluation.paper_scale import merge, set_param_overrides
from betavae.report.results_docs import write_results_doc
from betavae.tracking.client import git_commit
from pipelines.common import PATHS, ROOT, environment_with_this_python, main_guard, params

DEFAULT_CONFIG = "configs/higgins2017-fig5.yaml"


def experiment_command(config: dict, base: dict, name: str) -> list[str]:
    """`dvc exp run --temp --name <name> -S ++key=value ...` for `config` over the parameters `base`."""
    cmd = ["dvc", "exp", "run", "--temp", "--name", name]
    for override in set_param_overrides(config, base):
        cmd += ["-S", override]
    return cmd


def experiment_file(name: str, path: Path) -> bytes | None:
    """`path` (relative to the repository) as experiment `name` committed it, or None if it did not."""
    refs = subprocess.run(
        ["git", "for-each-ref", "--format=%(objectname) %(refname)", "refs/exps/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    commits = [line.split()[0] for line in refs if line.endswith(f"/{name}")]
    if not commits:
        raise BetavaeError(f"dvc exp run finished, but no experiment named {name} is in refs/exps/")
    shown = subprocess.run(["git", "show", f"{commits[0]}:{path.as_posix()}"], cwd=ROOT, capture_output=True)
    return shown.stdout if shown.returncode == 0 else None


def run(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pipelines.paper_scale")
    parser.add_argument("--config", default=DEFAULT_CONFIG)
    parser.add_argument("--dry-run", action="store_true", help="print the dvc command and stop")
    args = parser.parse_args(argv)
    config = yaml.safe_load((ROOT / args.config).read_text())
    base = params()
    merged = merge(base, config)
    check_params(merged)  # every value, before the experiment starts
    names = datasets_to_train(merged)

    name = f"{Path(args.config).stem}-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M}"
    cmd = experiment_command(config, base, name)
    print(shlex.join(cmd))
    if args.dry_run:
        print(yaml.safe_dump(merged, sort_keys=False))
        return
    commit = git_commit(ROOT)  # the code the experiment runs; later commits in the workspace are not it
    started = time.monotonic()
    env = environment_with_this_python()
    if shutil.which("dvc", path=env["PATH"]) is None:
        raise BetavaeError(f"no `dvc` executable next to {sys.executable} or on PATH; run `make install` first")
    subprocess.run(cmd, cwd=ROOT, check=True, env=env)
    doc = write_results_doc(
        PATHS,
        names[0],
        config,
        args.config,
        commit=commit,
        wall_seconds=time.monotonic() - started,
        read=lambda path: experiment_file(name, path.relative_to(ROOT)),
    )
    print(f"wrote {doc}", file=sys.stderr)


if __name__ == "__main__":
    main_guard(run)
