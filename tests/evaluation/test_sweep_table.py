"""A sweep scored one configuration at a time: the table's rows are those pooled after scoring every
run, and each configuration's code sources (models, cached codes) are let go once its row is pooled."""

from __future__ import annotations

import gc
import weakref

import numpy as np

from betavae.config import EvaluateConfig, expand_sweep
from betavae.evaluation.scoring import ScoredRun
from betavae.evaluation.sweep_table import comparison_table, model_label, score_by_configuration
from tests.helpers.runs import tiny_params
from tests.helpers.synthetic import SyntheticGrid, constant, identity

EVALUATE = {
    "seed": 0,
    "profile": "tiny",
    "profiles": {"tiny": {"beta_vae": {"batch_size": 8, "num_train": 60, "num_eval": 40}}},
    "table": {"metric": "beta_vae", "score": "eval_accuracy", "classifier_seeds": [0, 1], "baselines": []},
}


class Source:
    """A representation object whose lifetime the test can watch."""

    def __init__(self, represent):
        self.represent = represent

    def __call__(self, images: np.ndarray) -> np.ndarray:
        return self.represent(images)


def test_configurations_are_pooled_as_scored_and_their_sources_let_go() -> None:
    grid = SyntheticGrid((2, 3, 4, 3, 2, 4))
    cfg = EvaluateConfig.from_dict(EVALUATE)
    params = tiny_params() | {"sweep": {"grid": {"train.beta": [1.0, 4.0, 8.0]}, "seeds": [0, 1]}}
    runs = expand_sweep(params, "tiny")
    alive: weakref.WeakSet[Source] = weakref.WeakSet()
    held_when_scored: list[int] = []

    def source_of(run) -> Source:
        return Source(constant if run.objective.beta == 8.0 else identity)

    def score(run) -> ScoredRun:
        gc.collect()
        held_when_scored.append(len(alive))
        source = source_of(run)
        alive.add(source)
        return ScoredRun(run, {"seed": float(run.train.seed)}, source)

    scored, configurations = score_by_configuration(runs, lambda run: run, score, grid, cfg, table=True)

    # the first seed of each configuration finds nothing held, the second finds only its sibling
    assert held_when_scored == [0, 1, 0, 1, 0, 1]
    gc.collect()
    assert len(alive) == 0 and all(item.source is None for item in scored)
    assert [item.run for item in scored] == runs  # in the sweep's order, whatever order they were scored in
    assert [c.label for c in configurations] == list(dict.fromkeys(model_label(r) for r in runs))

    # the oracle: the same sources pooled after every run is scored, as the table did before
    oracle = [ScoredRun(run, {}, source_of(run)) for run in runs]
    expected_rows, expected_details = comparison_table(grid, oracle, cfg)
    rows, details = comparison_table(grid, scored, cfg, configurations)
    assert rows == expected_rows and details == expected_details
    assert rows[-1].mean < rows[0].mean  # the constant code (beta = 8) scores below the identity
