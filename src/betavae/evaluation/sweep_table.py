"""One sweep's table in the layout of Higgins et al. 2017, Fig. 5 (left): the baselines and every trained
configuration of the sweep, each scored over its replicas (seeds) by the Appendix A.4 protocol.

The rows come from :mod:`betavae.evaluation.fig5`; :mod:`betavae.evaluation.table` writes them out."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import numpy as np

from betavae.config import EvaluateConfig, RunConfig
from betavae.config.objectives import BetaTCVAEConfig, BetaVAEConfig
from betavae.data.ground_truth import GroundTruthData
from betavae.data.protocols import ImageSet
from betavae.data.split import train_rows
from betavae.evaluation import fig5
from betavae.evaluation.scoring import ScoredRun
from betavae.evaluation.table import TableRow

T = TypeVar("T")


def model_label(run: RunConfig) -> str:
    """The table's name for a configuration, seeds pooled: `VAE`, `beta-VAE (beta=4)`, `beta-TCVAE (beta=6)`.

    beta-TCVAE with alpha = beta = gamma = 1 is the ELBO (Chen et al. 2018 Eq. 2: whatever the estimate of
    log q(z), its three terms sum to log q(z|x) - log p(z), a one-sample estimate of the KL), so it is
    labelled a VAE.
    """
    objective = run.objective.objective
    if objective == "vae" or (objective == "beta_vae" and cast(BetaVAEConfig, run.objective).beta == 1.0):
        base = "VAE"
    elif objective == "beta_vae":  # the config of `beta_vae` is a BetaVAEConfig
        base = f"\u03b2-VAE (\u03b2={cast(BetaVAEConfig, run.objective).beta:g})"
    elif objective == "beta_tcvae":
        tc = cast(BetaTCVAEConfig, run.objective)
        is_elbo = (tc.alpha, tc.beta, tc.gamma) == (1.0, 1.0, 1.0)
        base = "VAE (\u03b2-TCVAE, \u03b2=1)" if is_elbo else f"\u03b2-TCVAE (\u03b2={tc.beta:g})"
    elif hasattr(run.objective, "beta"):
        base = f"{objective} (\u03b2={run.objective.beta:g})"
    else:
        base = objective
    swept = [
        f"{k.split('.')[-1]}={v}" for k, v in run.overrides if k not in ("train.seed", "train.beta", "train.objective")
    ]
    return base if not swept else f"{base} [{', '.join(swept)}]"


def run_budget(run: RunConfig, data: ImageSet | GroundTruthData) -> fig5.Budget:
    """Steps, batch size and the size of the train split (what an epoch passes over), for its table row."""
    rows = train_rows(data)
    if rows is None:  # no split recorded: every image is trained on
        size = int(getattr(data, "num_images", 0) or len(cast(ImageSet, data).images))
    else:
        size = len(rows)
    return fig5.Budget(steps=int(run.train.steps), batch_size=int(run.train.batch_size), dataset_size=size)


def by_configuration(items: Iterable[T], run_of: Callable[[T], RunConfig]) -> dict[str, list[T]]:
    """`items` grouped by the configuration of their run (seeds pooled, :func:`model_label`), in the order
    each configuration first appears."""
    groups: dict[str, list[T]] = {}
    for item in items:
        groups.setdefault(model_label(run_of(item)), []).append(item)
    return groups


def _pooling(cfg: EvaluateConfig) -> dict[str, Any]:
    table = cfg.table
    return dict(
        metric=table.metric,
        score=table.score,
        params=table.metric_params(cfg.metrics),
        classifier_seeds=table.classifier_seeds,
        keep_fraction=table.keep_fraction,
    )


@dataclass(frozen=True)
class ConfigurationRow:
    """One configuration's row of the table (its seeds pooled by A.4) and the scores behind it."""

    label: str
    row: TableRow
    detail: dict[str, Any]


def pool_configuration(
    data: GroundTruthData, label: str, items: Sequence[ScoredRun], cfg: EvaluateConfig
) -> ConfigurationRow:
    """The row of configuration `label` from the code sources of its replicas `items` (every replica x
    every classifier seed, bottom half discarded, mean +- std: Higgins et al. 2017, Appendix A.4)."""
    row, detail = fig5.pooled_row(
        data, label, [i.source for i in items], budget=run_budget(items[0].run, data), **_pooling(cfg)
    )
    return ConfigurationRow(label, row, detail)


def score_by_configuration(
    items: Sequence[T],
    run_of: Callable[[T], RunConfig],
    score: Callable[[T], ScoredRun],
    data: GroundTruthData,
    cfg: EvaluateConfig,
    *,
    table: bool,
) -> tuple[list[ScoredRun], list[ConfigurationRow]]:
    """Score `items` (a sweep's runs) one configuration at a time, returning the scored runs in the order
    of `items` and, with `table`, each configuration's pooled row (:func:`pool_configuration`).

    Once a configuration's seeds are scored and its row pooled, their code sources are let go (each holds
    its model and, on a factor grid, the codes of every image: for mlp64 on dSprites about 57 MB of
    weights and 29 MB of codes), so the stage's memory does not grow with the number of configurations."""
    scored: list[ScoredRun | None] = [None] * len(items)
    configurations: list[ConfigurationRow] = []
    for label, indices in by_configuration(range(len(items)), lambda i: run_of(items[i])).items():
        group = [score(items[i]) for i in indices]
        if table:
            configurations.append(pool_configuration(data, label, group, cfg))
        for i, result in zip(indices, group, strict=True):
            result.source = None
            scored[i] = result
    return [s for s in scored if s is not None], configurations


def comparison_table(
    data: GroundTruthData,
    scored: Sequence[ScoredRun],
    cfg: EvaluateConfig,
    configurations: Sequence[ConfigurationRow] | None = None,
) -> tuple[list[TableRow], dict[str, Any]]:
    """Rows of Fig. 5 (left): baselines (A.3), then each configuration with its seeds pooled by the A.4
    protocol. `configurations` are rows pooled already (:func:`pool_configuration`, as the evaluate stage
    does once a configuration's seeds are scored); without them they are pooled here from `scored`."""
    table = cfg.table
    rows, details = fig5.baseline_rows(
        data,
        table.baselines,
        rng=np.random.default_rng(cfg.seed),
        fit_samples=table.fit_samples,
        identity_factor=table.identity_factor,
        model_config=scored[0].run.model if scored else None,
        untrained_seeds=sorted({s.run.train.seed for s in scored}) or (0,),
        **_pooling(cfg),
    )
    if configurations is None:
        groups = by_configuration(scored, lambda item: item.run)
        configurations = [pool_configuration(data, label, items, cfg) for label, items in groups.items()]
    for configuration in configurations:
        rows.append(configuration.row)
        details[configuration.label] = configuration.detail
    return rows, details


def table_title(cfg: EvaluateConfig) -> str:
    """The protocol line of the table's Markdown."""
    table = cfg.table
    return fig5.protocol_title(
        table.metric, table.score, table.metric_params(cfg.metrics), table.keep_fraction, table.classifier_seeds
    )
