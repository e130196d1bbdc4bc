"""Latent means of held-out images in the plane of a 2-latent model, coloured by a factor or class.

The picture of Levy et al. 2020 (Fig. 7) and Baklazhenko et al. (Figs. 4-9): with two latents the whole
code is visible, and colouring by each factor shows which factor each axis took. Picture size:
`SIZES["latent_scatter"]` (800 x 800 pixels), one panel per factor (at most four).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from betavae.render.figure import new_figure, save_png

MAX_PANELS = 4


def save_scatter_png(
    means: np.ndarray, classes: np.ndarray | None, factor_names: Sequence[str], path: Path, title: str = ""
) -> Path:
    """Scatter z0 against z1 (`means` (n, 2)); panel j colours points by the class of factor j
    (`classes` (n, k)); without factors one uncoloured panel."""
    if means.shape[1] != 2:
        raise ValueError(f"a latent scatter needs a 2-latent model, got means of shape {means.shape}")
    panels = min(len(factor_names), MAX_PANELS) if classes is not None else 1
    side = 1 if panels == 1 else 2
    fig, axes = new_figure("latent_scatter", side, side)
    for j, ax in enumerate(axes.ravel()):
        if j >= panels:
            ax.axis("off")
            continue
        colour = classes[:, j] if classes is not None else None
        points = ax.scatter(means[:, 0], means[:, 1], c=colour, s=4, cmap="viridis", alpha=0.7)
        if colour is not None:
            fig.colorbar(points, ax=ax, label=f"{factor_names[j]} (class)")
        ax.set_xlabel("z0 (posterior mean)")
        ax.set_ylabel("z1 (posterior mean)")
        ax.set_title(f"coloured by {factor_names[j]}" if classes is not None else "latent means", fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_png(fig, path)
