"""Plots across the runs of a sweep: the disentanglement / reconstruction trade-off and metrics against beta.

- Trade-off (Stuhmer et al. 2020, Fig. 5): each disentanglement metric against the reconstruction
  log-likelihood, one point per run, colour = beta, marker = objective. Size `SIZES["sweep_tradeoff"]`.
- Metric against beta (Higgins et al. 2017, Fig. 6 right panel idea): mean over seeds with the standard
  deviation as error bars, one line per objective. Size `SIZES["metric_vs_beta"]` (1500 x 500 pixels).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib.colors as mcolors
import matplotlib.ticker as mticker
import numpy as np

from betavae.render.figure import new_figure, save_png
from betavae.tracking.runs_table import DISENTANGLEMENT, RECONSTRUCTION, SweepPoint

MARKERS = "osD^vP*X"


def metrics_present(points: Sequence[SweepPoint]) -> list[str]:
    """The disentanglement metrics every run has a finite score for, in display order."""
    return [k for k in DISENTANGLEMENT if points and all(np.isfinite(p.scores.get(k, np.nan)) for p in points)]


def by_beta(points: Sequence[SweepPoint], metric: str) -> dict[str, list[tuple[float, float, float, int]]]:
    """objective -> [(beta, mean over seeds, std over seeds, seeds)] sorted by beta."""
    table: dict[str, dict[float, list[float]]] = {}
    for p in points:
        table.setdefault(p.objective, {}).setdefault(p.beta, []).append(float(p.scores[metric]))
    return {
        obj: [(b, float(np.mean(v)), float(np.std(v)), len(v)) for b, v in sorted(rows.items())]
        for obj, rows in table.items()
    }


def _metric_axes(kind: str, count: int) -> tuple[Any, list[Any]]:
    """A figure of fixed size with one panel per metric, at most four panels a row; spare panels hidden."""
    cols = min(count, 4)
    rows = -(-count // cols)
    fig, axes = new_figure(kind, rows, cols)
    flat = list(axes.ravel())
    for spare in flat[count:]:
        spare.axis("off")
    return fig, flat[:count]


def save_tradeoff_png(points: Sequence[SweepPoint], path: Path, title: str = "") -> Path:
    """One panel per metric: metric (y) against reconstruction log-likelihood (x), a point per run."""
    metrics = metrics_present(points) or ["(no disentanglement metric)"]
    fig, axes = _metric_axes("sweep_tradeoff", len(metrics))
    betas = sorted({p.beta for p in points})
    norm = mcolors.LogNorm(vmin=max(min(betas), 1e-3), vmax=max(max(betas), 1e-3) * 1.0001) if betas else None
    objectives = sorted({p.objective for p in points})
    for ax, metric in zip(axes, metrics):
        ax.set_xlabel("reconstruction log-likelihood (nats per image)")
        ax.ticklabel_format(axis="x", useOffset=False, style="plain")
        ax.set_ylabel(DISENTANGLEMENT.get(metric, metric))
        if metric not in DISENTANGLEMENT:
            continue
        scatter = None
        for k, objective in enumerate(objectives):
            mine = [p for p in points if p.objective == objective and RECONSTRUCTION in p.scores]
            scatter = ax.scatter(
                [p.scores[RECONSTRUCTION] for p in mine],
                [p.scores[metric] for p in mine],
                c=[max(p.beta, 1e-3) for p in mine],
                cmap="plasma",
                norm=norm,
                marker=MARKERS[k % len(MARKERS)],
                s=40,
                label=objective,
                edgecolors="black",
            )
        if scatter is not None:
            bar = fig.colorbar(scatter, ax=ax, label="\u03b2", ticks=[max(b, 1e-3) for b in betas])
            bar.ax.yaxis.set_major_formatter(mticker.FormatStrFormatter("%g"))
            bar.ax.yaxis.set_minor_formatter(mticker.NullFormatter())
        ax.legend(fontsize=7, title="objective", title_fontsize=7)
    fig.suptitle(title or "disentanglement against reconstruction, one point per run", fontsize=10)
    fig.tight_layout()
    return save_png(fig, path)


def save_metric_vs_beta_png(points: Sequence[SweepPoint], path: Path, title: str = "") -> Path:
    """One panel per metric: mean over seeds against beta (log axis), error bars = std over seeds."""
    metrics = metrics_present(points) or ["(no disentanglement metric)"]
    fig, axes = _metric_axes("metric_vs_beta", len(metrics))
    for ax, metric in zip(axes, metrics):
        ax.set_xlabel("\u03b2")
        ax.set_ylabel(DISENTANGLEMENT.get(metric, metric))
        if metric not in DISENTANGLEMENT:
            continue
        for k, (objective, rows) in enumerate(sorted(by_beta(points, metric).items())):
            b, mean, std, _ = map(np.array, zip(*rows))
            ax.errorbar(b, mean, yerr=std, marker=MARKERS[k % len(MARKERS)], capsize=3, label=objective)
        betas = sorted({p.beta for p in points})
        if betas and betas[0] > 0:
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(mticker.NullFormatter())
        ax.set_xticks(betas)
        ax.set_xticklabels([f"{b:g}" for b in betas])
        ax.legend(fontsize=7, title="objective (seeds as error bars)", title_fontsize=7)
    fig.suptitle(title or "disentanglement against \u03b2", fontsize=10)
    fig.tight_layout()
    return save_png(fig, path)
