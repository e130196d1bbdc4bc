"""The paper-scale profile: its config is valid against params.yaml and says what Higgins et al. 2017 used."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from betavae.evaluation.paper_scale import merge, set_param_overrides
from betavae.paths import ProjectPaths
from betavae.report.results_docs import check, write_results_doc
from pipelines import paper_scale
from tests.helpers.project_copy import ROOT


def test_merge_replaces_keys_and_keeps_the_rest() -> None:
    base = {"train": {"lr": 0.0005, "seed": 0}, "sweep": {"grid": {"train.beta": [1.0, 4.0], "model.x": [1]}}}
    merged = merge(base, {"train": {"lr": 0.01}, "sweep": {"grid": {"train.beta": [1.0]}}})
    assert merged == {"train": {"lr": 0.01, "seed": 0}, "sweep": {"grid": {"train.beta": [1.0]}}}
    assert base["train"]["lr"] == 0.0005  # the input is not modified


def test_paper_scale_config_is_table_1_and_a4(capsys) -> None:
    config = yaml.safe_load((ROOT / paper_scale.DEFAULT_CONFIG).read_text())
    merged = merge(yaml.safe_load((ROOT / "params.yaml").read_text()), config)
    assert (merged["train"]["optimizer"], merged["train"]["lr"], merged["train"]["batch_size"]) == ("adagrad", 0.01, 64)
    assert merged["model"] == {"architecture": "mlp64", "latent_dim": 10, "likelihood": "bernoulli"}
    assert merged["sweep"]["grid"] == {"train.beta": [1.0, 4.0]} and len(merged["sweep"]["seeds"]) == 10
    table = merged["evaluate"]["table"]
    assert table["params"]["protocol"] == "higgins2017" and table["params"]["num_eval"] == 5000
    assert table["params"]["factors"] == ["posX", "posY", "scale", "orientation"]
    assert len(table["classifier_seeds"]) == 3 and merged["evaluate"]["profile"] == "reference"
    paper_scale.run(["--dry-run"])  # validates every merged value; writes nothing
    assert "dvc exp run --temp --name higgins2017-fig5-" in capsys.readouterr().out


def test_the_cpu_config_validates_and_its_result_doc_is_generated_from_copied_files(capsys, tmp_path) -> None:
    paper_scale.run(["--dry-run", "--config", "configs/dsprites-cpu.yaml"])
    assert "dvc exp run --temp --name dsprites-cpu-" in capsys.readouterr().out
    paths = ProjectPaths(tmp_path)
    paths.metrics("dsprites").mkdir(parents=True)
    paths.scores("dsprites").write_text(json.dumps({"beta_vae-beta=8-seed=0": {"mig.score": 0.25}}))
    paths.table_json("dsprites").write_text(json.dumps({"rows": [{"model": "VAE", "mean": 0.6, "std": 0.0}]}))
    config = yaml.safe_load((ROOT / "configs/dsprites-cpu.yaml").read_text())
    doc = Path(
        write_results_doc(paths, "dsprites", config, "configs/dsprites-cpu.yaml", commit="abc1234", wall_seconds=90)
    )
    assert doc == tmp_path / "docs/results/dsprites-cpu.md"
    text = doc.read_text()
    assert "Commit: abc1234" in text and "after 1.5 min" in text
    assert "| beta_vae-beta=8 | 1 | 0.250 ± 0.000 [0.250, 0.250] |" in text
    assert (tmp_path / "docs/results/data/dsprites-cpu/scores.json").is_file()
    assert check(tmp_path) == []


CONFIGS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "configs").glob("*.yaml"))
RUNS_PER_CONFIG = {
    "configs/baklazhenko2023-figs2-9.yaml": 5,
    "configs/dsprites-cpu.yaml": 6,
    "configs/higgins2017-fig5.yaml": 20,
    "configs/higgins2017-fig5-right.yaml": 40,
    "configs/higgins2017-fig5-right-cpu.yaml": 16,
    "configs/higgins2017-figs1-4.yaml": 4,
    "configs/levy2020-fig5.yaml": 6,
    "configs/levy2020-fig7.yaml": 3,
    "configs/stuhmer2020-fig5a.yaml": 100,
    "configs/stuhmer2020-fig5a-cpu.yaml": 16,
    "configs/stuhmer2020-fig5b.yaml": 180,
    "configs/stuhmer2020-fig5b-cpu.yaml": 32,
    "configs/singh2018-cvae.yaml": 2,
}


@pytest.mark.parametrize("config", CONFIGS)
def test_every_config_is_valid_and_has_its_number_of_runs(config, capsys) -> None:
    from betavae.config import expand_sweep
    from betavae.config.per_dataset import datasets_to_train
    from betavae.config.whole import check_params

    merged = merge(yaml.safe_load((ROOT / "params.yaml").read_text()), yaml.safe_load((ROOT / config).read_text()))
    check_params(merged)
    assert len(expand_sweep(merged, datasets_to_train(merged)[0])) == RUNS_PER_CONFIG[config]
    paper_scale.run(["--dry-run", "--config", config])
    assert f"dvc exp run --temp --name {Path(config).stem}-" in capsys.readouterr().out


@pytest.mark.parametrize(
    "config",
    [
        *CONFIGS,
        {
            "train": {"beta_schedule": {"kind": "linear", "steps": 10}, "precision": "fp32", "compile": False},
            "sweep": {"name": "it's a \\ test", "grid": {"train.beta": [1.0, 6.5], "model.latent_dim": [2]}},
            "evaluate": {"snapshot_metrics": ["mig", "reconstruction"], "table": {"classifier_seeds": [0]}},
            "register": {"datasets": {"dsprites": {"metric": "mig.score"}}},
        },
    ],
)
def test_the_experiment_overrides_give_dvc_the_merged_params(tmp_path, config) -> None:
    """DVC's own `-S` parser, applied to a copy of params.yaml, gives exactly `merge(params, config)`:
    the config runs as `dvc exp run --temp -S ...` without params.yaml being rewritten."""
    from dvc.utils.hydra import apply_overrides

    if isinstance(config, str):
        config = yaml.safe_load((ROOT / config).read_text())
    params = tmp_path / "params.yaml"
    params.write_text((ROOT / "params.yaml").read_text())
    apply_overrides(params, set_param_overrides(config, yaml.safe_load(params.read_text())))
    assert yaml.safe_load(params.read_text()) == merge(yaml.safe_load((ROOT / "params.yaml").read_text()), config)
