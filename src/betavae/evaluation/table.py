"""The disentanglement table in the layout of Higgins et al. (2017), Fig. 5 (left).

One row per model (ground truth, raw pixels, PCA, ICA, untrained VAE, VAE, beta-VAE, ...) with its
score as "mean +- std" in percent, its number of replicas, its training budget (optimiser steps, images
seen, epochs over the dataset; 0 for baselines) and a note (e.g. PCA's explained variance). Written as
``<root>/<dataset>/table.json`` (machine-readable, scores
as fractions in [0, 1]) and ``table.md`` (the Markdown table), each atomically: a temporary file in the
same directory is renamed over the target, so a reader never sees half a table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from betavae.errors import ConfigError
from betavae.io import atomic_path, write_json
from betavae.paths import TABLE_JSON_FILE, TABLE_MARKDOWN_FILE

__all__ = ["TableRow", "format_score", "render_markdown", "write_table"]


@dataclass(frozen=True)
class TableRow:
    """A model's score (a fraction in [0, 1]) with its spread over the kept runs."""

    model: str
    mean: float
    std: float = 0.0
    num_scores: int = 1
    replicas: int = 1
    steps: int = 0
    images_seen: int = 0
    epochs: float = 0.0
    note: str = ""

    def __post_init__(self) -> None:
        if not self.model or "|" in self.model or "\n" in self.model:
            raise ConfigError(f"row name must be non-empty text without '|' or newlines, got {self.model!r}")
        for key in ("mean", "std"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigError(f"row {self.model!r}: {key} must be a finite number, got {value!r}")
        if self.std < 0:
            raise ConfigError(f"row {self.model!r}: std must be >= 0, got {self.std}")
        if isinstance(self.num_scores, bool) or not isinstance(self.num_scores, int) or self.num_scores < 1:
            raise ConfigError(f"row {self.model!r}: num_scores must be a positive integer, got {self.num_scores!r}")
        for key in ("replicas", "steps", "images_seen"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"row {self.model!r}: {key} must be a non-negative integer, got {value!r}")
        if "|" in self.note or "\n" in self.note:
            raise ConfigError(f"row {self.model!r}: note must be text without '|' or newlines, got {self.note!r}")


def format_score(mean: float, std: float, num_scores: int = 1) -> str:
    """'99.23 +- 0.10%' style (one value without a spread prints as '100.00%')."""
    if num_scores <= 1 and std == 0:
        return f"{100 * mean:.2f}%"
    return f"{100 * mean:.2f} \u00b1 {100 * std:.2f}%"


def _budget(row: TableRow) -> str:
    if row.steps == 0:
        return "| - | - | - |"
    return f"| {row.steps:,} | {row.images_seen:,} | {row.epochs:.3g} |"


def render_markdown(rows: Sequence[TableRow], *, dataset: str, score_name: str, protocol: str = "") -> str:
    """The Markdown table: a title line, the protocol that made it, then one line per row with its score,
    replicas, training budget and note."""
    lines = [f"### {score_name} on {dataset}", ""]
    if protocol:
        lines += [f"Protocol: {protocol}.", ""]
    lines += [
        f"| Model | {score_name} | replicas | steps | images seen | epochs | note |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    lines += [
        f"| {r.model} | {format_score(r.mean, r.std, r.num_scores)} | {r.replicas} {_budget(r)} {r.note} |"
        for r in rows
    ]
    return "\n".join(lines) + "\n"


def write_table(
    root: Path | str,
    dataset: str,
    rows: Sequence[TableRow],
    *,
    score_name: str = "BetaVAE disentanglement metric score",
    protocol: str = "",
) -> tuple[Path, Path]:
    """Write ``root/<dataset>/table.json`` and ``table.md``; returns both paths."""
    if not dataset or any(c in dataset for c in "/\\") or dataset in (".", ".."):
        raise ConfigError(f"dataset must be a plain directory name, got {dataset!r}")
    rows = list(rows)
    if not rows:
        raise ConfigError("a table needs at least one row")
    names = [r.model for r in rows]
    if len(set(names)) != len(names):
        raise ConfigError(f"row names must be unique, got {names}")
    out_dir = Path(root) / dataset
    json_path, md_path = out_dir / TABLE_JSON_FILE, out_dir / TABLE_MARKDOWN_FILE
    payload = {"dataset": dataset, "score": score_name, "protocol": protocol, "rows": [asdict(r) for r in rows]}
    write_json(json_path, payload)
    with atomic_path(md_path) as tmp:
        tmp.write_text(
            render_markdown(rows, dataset=dataset, score_name=score_name, protocol=protocol), encoding="utf-8"
        )
    return json_path, md_path
