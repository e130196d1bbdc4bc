"""`register@<dataset>` stage: the sweep's best finished run goes through the promotion gate
(`betavae.tracking.promotion`): a new version of `betavae-<dataset>`, alias `champion` only if it beats the one in
service on the dataset's metric, else `challenger`.

    python -m pipelines.register dsprites
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pipelines.common import ROOT, main_guard
from pipelines.dataset_arg import dataset_argument


def register_dataset(dataset: str, root: Path | None = None) -> dict[str, Any]:
    """Register the best run of `models/<dataset>/sweep.json` by `metrics/<dataset>/scores.json`; writes
    `models/<dataset>/registered.json` and returns it."""
    from betavae.config.per_dataset import checked_dataset, register_config
    from betavae.config.whole import load_checked_params
    from betavae.io import read_json, write_json
    from betavae.paths import ProjectPaths
    from betavae.tracking.client import client_for
    from betavae.tracking.promotion import promote_best
    from betavae.tracking.sweep_record import read_sweep_record

    project = Path(root or ROOT)
    paths = ProjectPaths(project)
    p = load_checked_params(paths.params_file)
    cfg = register_config(p, checked_dataset(p, dataset))
    sweep = read_sweep_record(paths.sweep_record(dataset))
    scores = read_json(paths.scores(dataset))
    entry = promote_best(client_for(project), sweep.runs, scores, dataset, metric=cfg.metric, mode=cfg.mode).to_dict()
    write_json(paths.registered(dataset), entry)
    verb = "registered" if entry["created"] else "already registered:"
    print(
        f"{verb} {entry['name']} version {entry['version']} @{entry['alias']} ({entry['run_name']}, "
        f"{cfg.metric}={entry['value']:.4f})"
    )
    return entry


if __name__ == "__main__":
    main_guard(register_dataset, dataset_argument(sys.argv))
