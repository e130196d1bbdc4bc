"""Stage entry points stop `dvc repro` with one clear line: a failed expectation, a bad parameter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from tests.helpers.datasets import rewrite, write_block_grid
from tests.helpers.project_copy import ROOT, clean_env


def _stage(module: str, *args: str, project: Path) -> subprocess.CompletedProcess:
    env = clean_env(project)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=project, env=env, capture_output=True, text=True, timeout=300
    )


def test_validate_stage_fails_naming_the_expectation(tmp_path):
    dataset = write_block_grid(tmp_path / "data" / "datasets" / "blocks")
    table = pq.read_table(dataset / "factors.parquet")
    rewrite(dataset, factors=pa.concat_tables([table.slice(0, 31), table.slice(0, 1)]))  # a duplicated row
    proc = _stage("pipelines.validate", "blocks", project=tmp_path)
    assert proc.returncode == 1
    assert "expect_compound_columns_to_be_unique" in proc.stderr
    assert (tmp_path / "data" / "validation" / "blocks" / "index.html").is_file()


def test_train_stage_rejects_a_negative_beta_before_any_work(tmp_path):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["sweep"]["grid"]["train.beta"] = [1.0, -4.0]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    proc = _stage("pipelines.train", "dsprites", project=tmp_path)
    assert proc.returncode == 1
    assert "train.beta must be >= 0" in proc.stderr
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "models").exists()


def test_train_stage_refuses_table_factors_the_dataset_lacks_before_any_work(tmp_path):
    """The Fig. 5 table's factors are dSprites'; on another dataset the evaluation would refuse them, so the
    sweep stops before training (it used to fail at evaluate, after every run had trained)."""
    write_block_grid(tmp_path / "data" / "datasets" / "blocks")  # factors x, y, size
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"] = {"train_on": ["blocks"], "datasets": {"blocks": {"kind": "blobs", "source": "procedural"}}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    proc = _stage("pipelines.train", "blocks", project=tmp_path)
    assert proc.returncode == 1
    assert (
        "evaluate.table.params.factors names ['posX', 'posY', 'scale', 'orientation'], which the dataset's "
        "factors ['x', 'y', 'size'] lack"
    ) in proc.stderr
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "models").exists()


@pytest.mark.parametrize(
    ("stage", "section", "key", "value", "message"),
    [
        ("pipelines.train", "register", "mode", "maximum", "register.mode must be one of max, min; got 'maximum'"),
        ("pipelines.train", "render", "steps", 0, "render.steps must be >= 2, got 0"),
        ("pipelines.train", "evaluate", "reconstruction_samples", -5, "evaluate.reconstruction_samples must be >= 0"),
        ("pipelines.train", "train", "beta", True, "train.beta must be a finite number, got True"),  # grid sets beta
        ("pipelines.acquire", "render", "limit", "wide", "render.limit must be a finite number, got 'wide'"),
    ],
)
def test_the_first_stage_refuses_a_mistake_in_any_section(tmp_path, stage, section, key, value, message):
    """A value only a later stage reads (or one the sweep grid overrides) stops the first stage, so no
    training is lost to a typo found after it."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params[section][key] = value
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    proc = _stage(stage, "dsprites", project=tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    [line] = proc.stderr.strip().splitlines()  # one line: the key, the value and what was expected
    assert line.startswith("error: ") and message in line
    assert not any((tmp_path / name).exists() for name in ("mlflow.db", "models", "data"))


def test_stages_name_the_rename_of_data_dataset(tmp_path):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"]["dataset"] = params["data"].pop("train_on")[0]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    proc = _stage("pipelines.train", "dsprites", project=tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "rename `dataset: dsprites` to `train_on: [dsprites]`" in proc.stderr


def test_per_dataset_stage_refuses_a_dataset_outside_train_on(tmp_path):
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    proc = _stage("pipelines.register", "mnist", project=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "one of data.train_on: ['dsprites']" in proc.stderr
