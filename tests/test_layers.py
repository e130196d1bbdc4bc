"""The floor plan of src/betavae holds: imports run only downward, no package has an import cycle, and
so the train stage runs (and depends on) no metric, evaluation or render code.

The contracts are `pyproject.toml [tool.importlinter]`, checked by import-linter over every import
statement, function-local ones included; the floor plan is also written in `betavae.__init__`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import betavae
from tests.helpers.stage_imports import LOADED_BY_PATH, ROOT, closure, listed_code, stage_commands

PYPROJECT = ROOT / "pyproject.toml"
LINT = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
#: The one evaluation module train runs: the encoder of the pyfunc model it logs (serving/betavae_model.py).
RUN_BY_THE_LOGGED_MODEL = {"src/betavae/evaluation/__init__.py", "src/betavae/evaluation/inference.py"}


def lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter on the project at `project` (its `src/betavae`, `pipelines` and pyproject.toml)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(project / "src"), str(project)])}
    return subprocess.run(
        [sys.executable, "-c", LINT, "--no-cache", "--config", str(project / "pyproject.toml")],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def contracts() -> list[dict]:
    return tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]["contracts"]


def test_every_import_contract_is_kept() -> None:
    proc = lint_imports(ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"Contracts: {len(contracts())} kept, 0 broken." in proc.stdout


def test_the_documented_floor_plan_is_the_contract() -> None:
    """The floors listed in `betavae.__init__` are the layers import-linter checks, in the same order."""
    (layers,) = [c["layers"] for c in contracts() if c.get("containers") == ["betavae"]]
    plan = re.search(r"Floor plan.*?\n\n(.*?)\n\n", betavae.__doc__, re.S).group(1)
    assert [line.strip() for line in plan.splitlines()] == layers


@pytest.mark.parametrize(
    ("edits", "message"),
    [
        # a function-local import from config up to a metric: what made every metric edit re-train
        (
            {"config/sections.py": "def _up():\n    from betavae.metrics import dci\n"},
            "betavae.config is not allowed to import betavae.metrics",
        ),
        # two metric modules importing each other
        (
            {
                "metrics/mig.py": "from betavae.metrics import sap\n",
                "metrics/sap.py": "from betavae.metrics import mig\n",
            },
            "No cycles are allowed in betavae.metrics",
        ),
    ],
    ids=["upward", "cycle"],
)
def test_an_upward_import_or_a_cycle_breaks_the_contracts(tmp_path: Path, edits: dict[str, str], message: str) -> None:
    for tree in ("src/betavae", "pipelines"):
        shutil.copytree(ROOT / tree, tmp_path / tree, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PYPROJECT, tmp_path / "pyproject.toml")
    for module, text in edits.items():
        with open(tmp_path / "src" / "betavae" / module, "a") as fh:
            fh.write("\n\n" + text)
    proc = lint_imports(tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert message in proc.stdout


def code_of(prefix: str, files: set[str]) -> list[str]:
    return sorted(f for f in files if f.startswith(prefix))


@pytest.mark.parametrize("source", ["import closure", "dvc.yaml deps"])
def test_train_runs_no_metric_evaluation_or_render_code(source: str) -> None:
    """So editing a metric re-runs evaluate and what follows, never train (tests/pipeline covers dvc status)."""
    entry, deps = stage_commands()["train"]
    files = closure(entry, LOADED_BY_PATH["train"]) if source == "import closure" else listed_code(deps)
    assert code_of("src/betavae/metrics/", files) == []
    assert code_of("src/betavae/render/", files) == []
    assert sorted(set(code_of("src/betavae/evaluation/", files)) - RUN_BY_THE_LOGGED_MODEL) == []
    assert "src/betavae/config/metrics.py" in files  # the settings evaluate is checked against, before training
