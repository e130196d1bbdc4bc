"""Plots across the runs of a sweep: the disentanglement / reconstruction trade-off, metrics against beta
and the spread of each metric over seeds.

- Trade-off (Stuhmer et al. 2020, Fig. 5b-c): each disentanglement metric against the reconstruction
  log-likelihood, one small point per run (colour = beta, marker = objective) and, per objective and beta,
  the mean over seeds with the standard error as error bars on both axes, as the paper plots it.
  Size `SIZES["sweep_tradeoff"]`.
- Score distribution (Stuhmer et al. 2020, Fig. 5a): a box per configuration (objective, beta) with every
  seed's score on it, one panel per metric. Size `SIZES["score_distribution"]`.
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


def series_label(point: SweepPoint, several_latent_sizes: bool) -> str:
    """The line a point belongs to: its objective, and its latent size when the sweep has several (runs of
    different latent sizes are different models, not seeds of one)."""
    return f"{point.objective}, {point.latent_dim} latents" if several_latent_sizes else point.objective


def by_beta(points: Sequence[SweepPoint], metric: str) -> dict[str, list[tuple[float, float, float, int]]]:
    """series (objective, and latent size if swept) -> [(beta, mean over seeds, std over seeds, seeds)]
    sorted by beta."""
    several = len({p.latent_dim for p in points}) > 1
    table: dict[str, dict[float, list[float]]] = {}
    for p in points:
        table.setdefault(series_label(p, several), {}).setdefault(p.beta, []).append(float(p.scores[metric]))
    return {
        obj: [(b, float(np.mean(v)), float(np.std(v)), len(v)) for b, v in sorted(rows.items())]
        for obj, rows in table.items()
    }


def group_means(
    points: Sequence[SweepPoint], metric: str
) -> dict[tuple[str, float], tuple[float, float, float, float, int]]:
    """(objective, beta) -> (mean reconstruction, its s.e., mean metric, its s.e., seeds): the standard error
    is the sample standard deviation (n - 1) over sqrt(n), 0 for a single seed. Runs without a
    reconstruction score are left out."""
    groups: dict[tuple[str, float], list[tuple[float, float]]] = {}
    for p in points:
        if RECONSTRUCTION in p.scores:
            groups.setdefault((p.objective, p.beta), []).append(
                (float(p.scores[RECONSTRUCTION]), float(p.scores[metric]))
            )
    out = {}
    for key, pairs in sorted(groups.items()):
        values = np.array(pairs)
        n = len(values)
        se = values.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.zeros(2)
        out[key] = (float(values[:, 0].mean()), float(se[0]), float(values[:, 1].mean()), float(se[1]), n)
    return out


def configurations(points: Sequence[SweepPoint]) -> list[tuple[str, float]]:
    """The (objective, beta) pairs of a sweep, in a stable order."""
    return sorted({(p.objective, p.beta) for p in points})


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
                s=25,
                alpha=0.6,
                label=f"{objective}: one run",
                edgecolors="black",
            )
        for k, objective in enumerate(objectives):
            means = {b: v for (o, b), v in group_means(points, metric).items() if o == objective}
            if not means:
                continue
            x, xerr, y, yerr, _ = map(np.array, zip(*means.values()))
            ax.errorbar(
                x,
                y,
                xerr=xerr,
                yerr=yerr,
                fmt=MARKERS[k % len(MARKERS)],
                color="black",
                mfc="none",
                ms=11,
                capsize=3,
                lw=1,
                label=f"{objective}: mean \u00b1 s.e. per \u03b2",
            )
        if scatter is not None:
            bar = fig.colorbar(scatter, ax=ax, label="\u03b2", ticks=[max(b, 1e-3) for b in betas])
            bar.ax.yaxis.set_major_formatter(mticker.FormatStrFormatter("%g"))
            bar.ax.yaxis.set_minor_formatter(mticker.NullFormatter())
        ax.legend(fontsize=7, title="objective", title_fontsize=7)
    fig.suptitle(title or "disentanglement against reconstruction: runs, and mean \u00b1 s.e. per \u03b2", fontsize=10)
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


def save_score_distribution_png(points: Sequence[SweepPoint], path: Path, title: str = "") -> Path:
    """One panel per metric: a box per configuration (objective, beta) over its seeds, each seed a dot."""
    metrics = metrics_present(points) or ["(no disentanglement metric)"]
    fig, axes = _metric_axes("score_distribution", len(metrics))
    configs = configurations(points)
    labels = [f"{objective}\n\u03b2={beta:g}" for objective, beta in configs]
    jitter = np.random.default_rng(0)  # fixed: the picture repeats byte for byte
    for ax, metric in zip(axes, metrics):
        ax.set_ylabel(DISENTANGLEMENT.get(metric, metric))
        if metric not in DISENTANGLEMENT or not configs:
            continue
        values = [[float(p.scores[metric]) for p in points if (p.objective, p.beta) == c] for c in configs]
        ax.boxplot(values, tick_labels=labels, widths=0.5, showfliers=False)
        for i, v in enumerate(values, start=1):
            ax.scatter(i + jitter.uniform(-0.12, 0.12, len(v)), v, s=14, color="tab:blue", alpha=0.8, zorder=3)
        ax.tick_params(axis="x", labelsize=7)
    fig.suptitle(title or "scores over seeds, per configuration", fontsize=10)
    fig.tight_layout()
    return save_png(fig, path)


def normalised_beta(beta: float, latent_dim: int, pixels: int) -> float:
    """beta * M / N, M latents and N pixels per image: the normalised beta of Higgins et al. 2017 Sec. 4."""
    return beta * latent_dim / pixels


def save_normalised_beta_png(points: Sequence[SweepPoint], path: Path, pixels: int, title: str = "") -> Path:
    """One panel per metric (Higgins et al. 2017 Fig. 5 right): latent size (x) against normalised beta (y,
    log), coloured by the mean score over seeds; a star marks each latent size's best normalised beta."""
    metrics = metrics_present(points) or ["(no disentanglement metric)"]
    fig, axes = _metric_axes("normalised_beta", len(metrics))
    for ax, metric in zip(axes, metrics):
        ax.set_xlabel("latent size M")
        ax.set_ylabel("normalised \u03b2 = \u03b2 M / N")
        if metric not in DISENTANGLEMENT:
            continue
        cells: dict[tuple[int, float], list[float]] = {}
        for p in points:
            cells.setdefault((p.latent_dim, p.beta), []).append(float(p.scores[metric]))
        keys = sorted(cells)
        x = [m for m, _ in keys]
        y = [normalised_beta(b, m, pixels) for m, b in keys]
        colour = [float(np.mean(cells[k])) for k in keys]
        shown = ax.scatter(x, y, c=colour, cmap="viridis", marker="s", s=120, edgecolors="black")
        for m in sorted({m for m, _ in keys}):
            best = max((k for k in keys if k[0] == m), key=lambda k: float(np.mean(cells[k])))
            ax.scatter([m], [normalised_beta(best[1], m, pixels)], marker="*", s=60, color="red", zorder=3)
        if min(y) > 0:
            ax.set_yscale("log")
        ax.set_xticks(sorted(set(x)))
        fig.colorbar(shown, ax=ax, label=f"{DISENTANGLEMENT[metric]} (mean over seeds)")
    fig.suptitle(title or "normalised \u03b2 against latent size (star: best per latent size)", fontsize=10)
    fig.tight_layout()
    return save_png(fig, path)
