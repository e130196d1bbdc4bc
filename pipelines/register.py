"""`register@<dataset>` stage: the sweep's best finished run goes through the promotion gate
(`betavae.promotion`): a new version of `betavae-<dataset>`, alias `champion` only if it beats the one in
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
    from betavae.config import load_params
    from betavae.io import read_json, write_json
    from betavae.per_dataset import params_for, register_config
    from betavae.promotion import promote_best
    from betavae.sweep import read_sweep_record, sweep_record_path
    from betavae.tracking import client_for

    project = Path(root or ROOT)
    p = load_params(project / "params.yaml")
    params_for(p, dataset)
    cfg = register_config(p, dataset)
    sweep = read_sweep_record(sweep_record_path(project, dataset))
    scores = read_json(project / "metrics" / dataset / "scores.json")
    entry = promote_best(client_for(project), sweep["runs"], scores, dataset, metric=cfg.metric,
                         mode=cfg.mode).to_dict()
    write_json(project / "models" / dataset / "registered.json", entry)
    verb = "registered" if entry["created"] else "already registered:"
    print(f"{verb} {entry['name']} version {entry['version']} @{entry['alias']} ({entry['run_name']}, "
          f"{cfg.metric}={entry['value']:.4f})")
    return entry


if __name__ == "__main__":
    main_guard(register_dataset, dataset_argument(sys.argv))
