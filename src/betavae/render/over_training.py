"""Disentanglement over training: each configuration's scores at its snapshots (`train.snapshots`) and at
the end, against images seen; the line is the mean over the configuration's seeds and the band their
range (min to max), one panel per score. Drawn from `metrics/<dataset>/over_training.json`
(:mod:`betavae.evaluation.over_training`). Size `SIZES["over_training"]`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from betavae.render.figure import new_figure, save_png
from betavae.tracking.runs_table import DISENTANGLEMENT, RECONSTRUCTION, configuration_of

SCORE_LABELS = {**DISENTANGLEMENT, RECONSTRUCTION: "reconstruction log-likelihood (nats)"}
MAX_PANELS = 4


def scores_drawn(runs: Sequence[Mapping[str, Any]]) -> list[str]:
    """The scores every point of every curve has, headline scores only, in display order."""
    keys = [k for k in SCORE_LABELS if runs and all(k in p for r in runs for p in r["points"])]
    return keys[:MAX_PANELS]


def by_configuration(runs: Sequence[Mapping[str, Any]], score: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """configuration -> (images seen, score per seed as rows), over the images every seed has a point at."""
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for run in runs:
        grouped.setdefault(configuration_of(str(run["run"])), []).append(run)
    out = {}
    for label, members in sorted(grouped.items()):
        shared = sorted(set.intersection(*({int(p["images"]) for p in r["points"]} for r in members)))
        values = np.array(
            [[next(float(p[score]) for p in r["points"] if int(p["images"]) == x) for x in shared] for r in members]
        )
        out[label] = (np.array(shared, dtype=float), values)
    return out


def save_over_training_png(curves: Mapping[str, Any], path: Path, title: str = "") -> Path:
    """Mean over seeds (line) and range (band) of each score against images seen, a line per configuration."""
    runs = list(curves.get("runs", []))
    scores = scores_drawn(runs) or ["(no score over training)"]
    fig, axes = new_figure("over_training", 1, len(scores))
    for ax, score in zip(axes[0], scores):
        ax.set_xlabel("images seen")
        ax.set_ylabel(SCORE_LABELS.get(score, score))
        if score not in SCORE_LABELS:
            continue
        for label, (images, values) in by_configuration(runs, score).items():
            seeds = values.shape[0]
            (line,) = ax.plot(images, values.mean(axis=0), marker="o", ms=3, label=f"{label} ({seeds} seeds)")
            if seeds > 1:
                ax.fill_between(images, values.min(axis=0), values.max(axis=0), color=line.get_color(), alpha=0.2)
        ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 3))
        ax.legend(fontsize=7)
    fig.suptitle(title or "scores over training: mean over seeds, band = range", fontsize=10)
    fig.tight_layout()
    return save_png(fig, path)
