"""The evaluate stage's files: `metrics/<dataset>/scores.json` and the comparison table.

`scores.json` holds every run's reproducible scores and, under `notes`, the estimator behind each score
and every metric that was skipped with the reason. The table of Higgins et al. 2017 Fig. 5 (left) --
baselines and each configuration with its seeds pooled -- goes to `table.json`, `table.md` and
`table_details.json`; on a dataset without ground-truth factors the same three files say why there is
no table, so the stage's outputs exist either way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from betavae.config import EvaluateConfig
from betavae.data.ground_truth import GroundTruthData
from betavae.evaluation.scoring import ScoredRun
from betavae.evaluation.sweep_table import ConfigurationRow, comparison_table, table_title
from betavae.evaluation.table import write_table
from betavae.io import atomic_path, write_json
from betavae.metrics.requirements import missing_factors
from betavae.paths import ProjectPaths


def reproducible(scores: Mapping[str, float]) -> dict[str, float]:
    """The scores without the evaluation's own timings (`*.seconds`, logged to MLflow only).

    `scores.json` is a dependency of render, register and report: an evaluation that reproduces the same
    scores must leave it byte for byte as it was, so that DVC does not re-run what follows.
    """
    return {k: v for k, v in scores.items() if not k.endswith(".seconds")}


def scores_entry(scored: ScoredRun) -> dict[str, Any]:
    """One run's entry of `scores.json`: its reproducible scores and, under `notes`, its notes sorted."""
    return {**reproducible(scored.scores), "notes": dict(sorted(scored.notes.items()))}


def describe(name: str, scored: ScoredRun) -> str:
    """A run's scores on one line (KL per latent left out), then one indented line per note."""
    lines = [
        f"{name}: "
        + ", ".join(f"{k}={v:.3f}" for k, v in sorted(scored.scores.items()) if not k.startswith("reconstruction.kl."))
    ]
    lines += [f"  {key}: {note}" for key, note in sorted(scored.notes.items())]
    return "\n".join(lines)


def write_table_files(
    paths: ProjectPaths,
    dataset: str,
    data: GroundTruthData,
    scored: Sequence[ScoredRun],
    cfg: EvaluateConfig,
    configurations: Sequence[ConfigurationRow] | None = None,
) -> str:
    """Write the comparison table of `dataset` (or, without ground-truth factors, why it is skipped) to
    `metrics/<dataset>/table.{json,md}` and `table_details.json`; returns the Markdown. `configurations`:
    the configurations' rows pooled already (see :func:`~betavae.evaluation.sweep_table.comparison_table`)."""
    reason = missing_factors(data)
    if reason is not None:
        write_json(paths.table_json(dataset), {"dataset": dataset, "rows": [], "skipped": reason})
        write_json(paths.table_details(dataset), {"skipped": reason})
        with atomic_path(paths.table_markdown(dataset)) as tmp:
            tmp.write_text(f"### No disentanglement table for {dataset}\n\nSkipped: {reason}.\n", encoding="utf-8")
        return paths.table_markdown(dataset).read_text()
    rows, details = comparison_table(data, list(scored), cfg, configurations)
    _, md_path = write_table(
        paths.metrics_root, dataset, rows, score_name=f"{cfg.table.metric}.{cfg.table.score}", protocol=table_title(cfg)
    )
    write_json(paths.table_details(dataset), details)
    return md_path.read_text()
