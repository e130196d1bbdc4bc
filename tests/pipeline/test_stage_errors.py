"""Stage entry points stop `dvc repro` with one clear line: a failed expectation, a bad parameter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
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
