"""Data files for `dvc plots`: loss terms per run and the sweep's scores, as CSV under `plots/<dataset>/curves/`.

`dvc.yaml`'s `plots:` section draws them: loss terms over steps (`curves/losses/<run>.csv`, x = step),
each score against beta and against the reconstruction log-likelihood (`curves/runs.csv`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from betavae.tracking.runs_table import write_csv


def write_loss_csv(history: dict[str, tuple[np.ndarray, np.ndarray]], path: Path) -> Path:
    """One row per logged step, one column per loss term (empty where a term was not logged at that step)."""
    steps = sorted({int(step) for s, _ in history.values() for step in s})
    lookup = {name: dict(zip(map(int, s), map(float, v))) for name, (s, v) in history.items()}
    rows = [{"step": step, **{name: lookup[name].get(step) for name in sorted(history)}} for step in steps]
    return write_csv(path, rows)


def write_runs_csv(rows: list[dict], path: Path) -> Path:
    """The finished runs' parameters and scores, one row per run. Column names use `_` for `.`
    (`train_beta`, `mig_score`), because Vega-Lite, which `dvc plots` renders with, reads a dot in a
    field name as a nested field."""
    return write_csv(path, [{k.replace(".", "_"): v for k, v in r.items()} for r in rows if r["status"] == "finished"])
