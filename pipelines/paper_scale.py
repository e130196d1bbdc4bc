"""Run the paper-scale profile of Higgins et al. 2017 Fig. 5 (left) and write its table to docs/results.

    python -m pipelines.paper_scale [--config configs/higgins2017-fig5.yaml] [--dry-run]

One command for a GPU worker (a clone with `make run`'s environment): it merges the config file into
`params.yaml` (each key of the file replaces the same key), runs `dvc exp run` on it (so the experiment
is recorded by DVC and MLflow like any other; `dvc exp show` lists it), puts the original `params.yaml`
back, and commits the result: its score files under `docs/results/data/<config name>/` and
`docs/results/<config name>.md`, with tables generated from them, the command, the commit, the device,
the wall time and the budget (:func:`betavae.report.results_docs.write_results_doc`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
import subprocess
import sys
import time
from pathlib import Path

import yaml

from betavae.config import EvaluateConfig, expand_sweep
from betavae.config.per_dataset import datasets_to_train
from betavae.evaluation.paper_scale import merge
from betavae.report.results_docs import write_results_doc
from betavae.tracking.client import git_commit
from pipelines.common import PATHS, ROOT, main_guard

DEFAULT_CONFIG = "configs/higgins2017-fig5.yaml"


def run(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pipelines.paper_scale")
    parser.add_argument("--config", default=DEFAULT_CONFIG)
    parser.add_argument("--dry-run", action="store_true", help="print the dvc command and stop")
    args = parser.parse_args(argv)
    config = yaml.safe_load((ROOT / args.config).read_text())
    params_path = PATHS.params_file
    original = params_path.read_text()
    merged = merge(yaml.safe_load(original), config)
    names = datasets_to_train(merged)
    for name in names:
        expand_sweep(merged, name)  # every value is checked before the experiment starts
    EvaluateConfig.from_dict(merged.get("evaluate"))  # evaluate.table included

    cmd = ["dvc", "exp", "run", "--name", f"{Path(args.config).stem}-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M}"]
    print(f"{shlex.join(cmd)}  # on params.yaml merged with {args.config}")
    if args.dry_run:
        print(yaml.safe_dump(merged, sort_keys=False))
        return
    started = time.monotonic()
    try:
        params_path.write_text(yaml.safe_dump(merged, sort_keys=False))
        subprocess.run(cmd, cwd=ROOT, check=True)
    finally:
        params_path.write_text(original)
    doc = write_results_doc(
        PATHS, names[0], config, args.config, commit=git_commit(ROOT), wall_seconds=time.monotonic() - started
    )
    print(f"wrote {doc}", file=sys.stderr)


if __name__ == "__main__":
    main_guard(run)
