"""How each latent responds to each generative factor (Higgins et al. 2017, Fig. 6, rows 1-3).

For every latent, its mean activation (posterior mean, averaged over the factors not shown) as a heatmap
over the (posX, posY) grid, one heatmap per shape, and as curves over every other factor (scale and
rotation on dSprites), one curve per shape. A disentangled latent lights up along one factor only.
Picture size: `SIZES["factor_response"]` (1600 x 1000 pixels); columns are latents sorted by KL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from betavae.data.ground_truth import GroundTruthData
from betavae.metrics.cache import ObservationEncoder
from betavae.render.figure import new_figure, save_png

Represent = Callable[[np.ndarray], np.ndarray]  # uint8 images (n, H, W, C) -> latent means (n, d)


@dataclass
class FactorResponse:
    """Mean activations: `heatmaps[g]` is (d, nx, ny) for group class g; `curves[f][g]` is
    (factor_sizes[f], d) over the classes of factor f; `values[f]` the physical value of each class."""

    x: str | None
    y: str | None
    group: str | None
    groups: list[float]
    heatmaps: dict[int, np.ndarray] = field(default_factory=dict)
    curves: dict[str, dict[int, np.ndarray]] = field(default_factory=dict)
    values: dict[str, np.ndarray] = field(default_factory=dict)


def _mean_codes(
    data: GroundTruthData, represent: Represent, factors: np.ndarray, rng: np.random.Generator, cells: int
) -> np.ndarray:
    """Latent means of images drawn for `factors` (cells * k rows, cell-major), averaged per cell: (cells, d).
    Encoded through the metrics' code source, which gives a conditional model each image's class."""
    codes = np.asarray(ObservationEncoder(data, represent).codes(factors, rng), dtype=np.float64)
    return codes.reshape(cells, -1, codes.shape[1]).mean(axis=1)


def factor_response(
    data: GroundTruthData,
    represent: Represent,
    rng: np.random.Generator,
    *,
    x: str = "posX",
    y: str = "posY",
    group: str | None = "shape",
    samples_per_cell: int = 4,
    samples_per_value: int = 64,
) -> FactorResponse:
    """Mean latent activations over the factor grid of `data` (a ground-truth dataset).

    Each (posX, posY) cell averages `samples_per_cell` images whose other factors are drawn uniformly;
    each class of every other factor averages `samples_per_value` images. `x`/`y`/`group` name the factors
    drawn as heatmap axes and as separate heatmaps/curves; absent names are skipped (blobs have no shape).
    """
    names = list(data.factor_names)
    sizes = list(data.factor_sizes)
    has_xy = x in names and y in names
    g_col = names.index(group) if group in names else None
    groups = list(range(sizes[g_col])) if g_col is not None else [0]
    out = FactorResponse(
        x if has_xy else None,
        y if has_xy else None,
        group if g_col is not None else None,
        [float(data.factor_values[g_col][g]) for g in groups] if g_col is not None else [0.0],
    )
    for g in groups:
        if has_xy:
            xi, yi = names.index(x), names.index(y)
            nx, ny = sizes[xi], sizes[yi]
            cells = nx * ny
            factors = data.sample_factors(cells * samples_per_cell, rng)
            grid_x, grid_y = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
            factors[:, xi] = np.repeat(grid_x.ravel(), samples_per_cell)
            factors[:, yi] = np.repeat(grid_y.ravel(), samples_per_cell)
            if g_col is not None:
                factors[:, g_col] = g
            out.heatmaps[g] = _mean_codes(data, represent, factors, rng, cells).reshape(nx, ny, -1).transpose(2, 0, 1)
        for f, name in enumerate(names):
            if f == g_col or (has_xy and name in (x, y)):
                continue
            factors = data.sample_factors(sizes[f] * samples_per_value, rng)
            factors[:, f] = np.repeat(np.arange(sizes[f]), samples_per_value)
            if g_col is not None:
                factors[:, g_col] = g
            out.curves.setdefault(name, {})[g] = _mean_codes(data, represent, factors, rng, sizes[f])
            out.values[name] = np.asarray(data.factor_values[f], dtype=np.float64)
    return out


def save_factor_response_png(
    response: FactorResponse, order: Sequence[int] | np.ndarray, kl: np.ndarray, path: Path, title: str = ""
) -> Path:
    """Rows: one heatmap per group (shape), then one row of curves per remaining factor; columns: latents."""
    heat_rows = list(response.heatmaps)
    curve_rows = list(response.curves)
    nrows = max(len(heat_rows) + len(curve_rows), 1)
    fig, axes = new_figure("factor_response", nrows, len(order))
    group_label = (lambda g: f"{response.group} {response.groups[g]:g}") if response.group else (lambda g: "all")
    for c, latent in enumerate(order):
        latent = int(latent)
        axes[0, c].set_title(f"z{latent}  KL {kl[latent]:.2f}", fontsize=8)
        stack = np.stack([response.heatmaps[g][latent] for g in heat_rows]) if heat_rows else None
        for r, g in enumerate(heat_rows):
            if stack is None:  # never: the stack is built whenever there are heatmap rows
                raise RuntimeError("factor response heatmaps missing their common colour scale")
            ax = axes[r, c]
            ax.imshow(
                response.heatmaps[g][latent].T,
                origin="lower",
                cmap="viridis",
                aspect="auto",
                vmin=stack.min(),
                vmax=stack.max(),
                interpolation="nearest",
            )
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(f"{group_label(g)}\n{response.y}", fontsize=8)
            if r == len(heat_rows) - 1:
                ax.set_xlabel(response.x, fontsize=8)
        for k, name in enumerate(curve_rows):
            ax = axes[len(heat_rows) + k, c]
            for g, means in response.curves[name].items():
                ax.plot(response.values[name], means[:, latent], linewidth=1, label=group_label(g))
            ax.set_xlabel(name, fontsize=8)
            ax.tick_params(labelsize=6)
            if c == 0:
                ax.set_ylabel("mean activation", fontsize=8)
    if curve_rows and response.group:
        axes[len(heat_rows), len(order) - 1].legend(fontsize=6)
    fig.suptitle(title or "mean latent activation per factor", fontsize=10)
    fig.tight_layout()
    return save_png(fig, path)
