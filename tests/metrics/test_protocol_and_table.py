"""The Higgins et al. (2017) A.4 protocol and the Fig. 5 table files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from betavae.errors import ConfigError
from betavae.evaluation import protocol
from betavae.evaluation.table import (
    TableRow,
    format_score,
    render_markdown,
    write_table,
)
from tests.helpers.synthetic import (
    CountingRepresentation,
    SyntheticGrid,
    constant,
    identity,
)


def test_summarise_discards_the_bottom_half() -> None:
    result = protocol.summarise([0.5, 0.9, 0.1, 0.7, 0.3, 0.8])
    assert result.kept == (0.9, 0.8, 0.7)
    assert result.mean == pytest.approx(0.8, abs=1e-12)
    assert result.std == pytest.approx(0.0816496580927726, abs=1e-12)  # sqrt(0.02 / 3)
    odd = protocol.summarise([0.2, 0.4, 0.6])  # ceil(1.5) = 2 kept
    assert odd.kept == (0.6, 0.4)
    assert protocol.summarise([0.3], keep_fraction=0.5).kept == (0.3,)
    with pytest.raises(ConfigError, match="keep_fraction"):
        protocol.summarise([0.3], keep_fraction=0.0)
    with pytest.raises(ConfigError, match="at least one score"):
        protocol.summarise([])


def test_run_scores_every_replica_with_every_seed(grid: SyntheticGrid) -> None:
    counting = CountingRepresentation(identity)
    result = protocol.run(
        grid,
        [counting, constant],
        classifier_seeds=[0, 1, 2],
        params={"batch_size": 32, "num_train": 60, "num_eval": 60},
    )
    assert len(result.scores) == 6 and len(result.kept) == 3
    assert [r[:2] for r in result.runs] == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    identity_scores = sorted((r[2] for r in result.runs if r[0] == 0), reverse=True)
    assert max(r[2] for r in result.runs if r[0] == 1) < 0.4 < min(identity_scores)
    assert list(result.kept) == identity_scores  # the constant code's runs are the discarded half
    assert result.mean == pytest.approx(np.mean(identity_scores))
    assert result.std == pytest.approx(np.std(identity_scores))
    assert max(counting.seen.values()) == 1  # one cache per replica, shared by its seeds
    assert json.loads(json.dumps(result.as_dict()))["num_kept"] == 3
    with pytest.raises(ConfigError, match="no score 'accuracy'"):
        protocol.run(
            grid,
            [identity],
            classifier_seeds=[0],
            score="accuracy",
            params={"batch_size": 8, "num_train": 10, "num_eval": 10},
        )


def test_table_layout_and_files(tmp_path) -> None:
    rows = [
        TableRow("Ground truth", 1.0),
        TableRow("PCA", 0.849, 0.004, 5),
        TableRow("beta-VAE (beta=4)", 0.9923, 0.001, 10),
    ]
    json_path, md_path = write_table(tmp_path / "metrics", "dsprites", rows)
    assert json_path == tmp_path / "metrics" / "dsprites" / "table.json"
    payload = json.loads(json_path.read_text())
    assert payload["dataset"] == "dsprites"
    assert payload["rows"][1] == {
        "model": "PCA",
        "mean": 0.849,
        "std": 0.004,
        "num_scores": 5,
        "replicas": 1,
        "steps": 0,
        "images_seen": 0,
        "epochs": 0.0,
        "note": "",
    }
    md = md_path.read_text()
    assert md == render_markdown(rows, dataset="dsprites", score_name="BetaVAE disentanglement metric score")
    assert "| Ground truth | 100.00% |" in md
    assert "| PCA | 84.90 \u00b1 0.40% |" in md
    assert "| beta-VAE (beta=4) | 99.23 \u00b1 0.10% |" in md
    assert "| PCA | 84.90 \u00b1 0.40% | 1 | - | - | - |  |" in md
    assert sorted(p.name for p in json_path.parent.iterdir()) == ["table.json", "table.md"]  # no temp files left
    write_table(tmp_path / "metrics", "dsprites", rows[:1])  # overwrites in place
    assert len(json.loads(json_path.read_text())["rows"]) == 1


def test_table_rejects_bad_rows(tmp_path) -> None:
    assert format_score(0.5, 0.0) == "50.00%"
    with pytest.raises(ConfigError, match="finite"):
        TableRow("VAE", float("nan"))
    with pytest.raises(ConfigError, match="unique"):
        write_table(tmp_path, "d", [TableRow("VAE", 0.5), TableRow("VAE", 0.6)])
    with pytest.raises(ConfigError, match="plain directory name"):
        write_table(tmp_path, "../d", [TableRow("VAE", 0.5)])
    np.testing.assert_equal(list(tmp_path.iterdir()), [])
