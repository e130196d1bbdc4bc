"""End to end: editing a metric invalidates the evaluation of the trained models, never their training.

A stage's deps are its import closure, so this holds because `config` keeps the metric settings it
checks and imports no metric code (the floor plan in `betavae.__init__`, checked by tests/test_layers.py).
"""

from __future__ import annotations

import json

import pytest

from tests.helpers.project_copy import BIN, run_ok

pytestmark = pytest.mark.slow


def test_editing_a_metric_reruns_evaluate_but_leaves_train_up_to_date(repro_project):
    dest, env = repro_project
    dci = dest / "src" / "betavae" / "metrics" / "dci.py"
    original = dci.read_text()
    dci.write_text(original + "\n# an edit to the metric\n")
    try:
        status = json.loads(run_ok([str(BIN / "dvc"), "status", "--json"], dest, env).stdout)
    finally:
        dci.write_text(original)
    assert status == {"evaluate@blobs": [{"changed deps": {"src/betavae/metrics/dci.py": "modified"}}]}
    assert json.loads(run_ok([str(BIN / "dvc"), "status", "--json"], dest, env).stdout) == {}
