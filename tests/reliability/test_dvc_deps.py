"""DVC correctness: each stage depends on exactly the project code it runs; large outputs stay out of git."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from tests.helpers.stage_imports import (
    LOADED_BY_PATH,
    ROOT,
    closure,
    listed_code,
    stage_commands,
)

STAGES = stage_commands()


def test_every_python_stage_is_checked():
    assert {"acquire", "validate", "train", "evaluate", "render", "register"} <= set(STAGES)


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_stage_deps_are_exactly_its_import_closure(stage):
    entry, deps = STAGES[stage]
    needed = closure(entry, LOADED_BY_PATH.get(stage, []))
    listed = listed_code(deps)
    assert sorted(needed - listed) == [], f"{stage} runs code dvc.yaml does not list (stale results)"
    assert sorted(listed - needed) == [], f"{stage} lists code it never runs (needless re-runs)"


def test_closure_follows_lazy_and_package_imports():
    files = closure("pipelines.register")
    assert {
        "pipelines/register.py",
        "pipelines/common.py",
        "src/betavae/tracking/registry.py",
        "src/betavae/__init__.py",
        "src/betavae/io.py",
    } <= files
    assert "src/betavae/render/traversal.py" not in files


def git_ignored(paths: list[str]) -> set[str]:
    proc = subprocess.run(["git", "check-ignore", "--no-index", *paths], cwd=ROOT, capture_output=True, text=True)
    return set(proc.stdout.split())


def test_large_outputs_are_ignored_and_metrics_are_not():
    """Checkpoints never enter a git (or `dvc exp`) commit; scores and plots do, as `dvc metrics` expects."""
    checkpoints = "models/dsprites/checkpoints/run/final_state.pt"
    weights = "models/dsprites/weights/run/weights.pt"
    small = [
        "metrics/dsprites/scores.json",
        "metrics/dsprites/table.md",
        "plots/dsprites/a_traversal.png",
        "models/dsprites/sweep.json",
        "models/dsprites/registered.json",
    ]
    assert git_ignored([checkpoints, weights, *small]) == {checkpoints, weights}
    text = (ROOT / "dvc.yaml").read_text()
    outs = [o for stage in yaml.safe_load(text)["stages"].values() for o in stage.get("do", stage).get("outs", [])]
    uncached = [next(iter(o)) for o in outs if isinstance(o, dict) and next(iter(o.values())).get("cache") is False]
    for out in uncached:
        assert "checkpoints" not in out or git_ignored([out.replace("${data.dataset}", "dsprites") + "/x.pt"])
