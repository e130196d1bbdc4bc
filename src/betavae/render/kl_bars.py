"""KL divergence per latent as a bar chart: which latents a beta-VAE keeps and which it switches off.

Higgins et al. 2017 (Sec. 4) read the number of informative latents off their KL; the dashed line marks
:data:`betavae.config.metrics.ACTIVE_KL_NATS`. Picture size: `SIZES["kl_per_latent"]` (800 x 400 pixels).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from betavae.config.metrics import ACTIVE_KL_NATS
from betavae.render.figure import new_figure, save_png


def save_kl_bars_png(kl: np.ndarray, path: Path, title: str = "") -> Path:
    """Bars of mean KL(q(z_i|x) || p(z_i)) in nats per latent z_i, in latent order."""
    fig, axes = new_figure("kl_per_latent")
    ax = axes[0, 0]
    ax.bar(np.arange(len(kl)), kl, color="tab:blue")
    ax.axhline(ACTIVE_KL_NATS, color="grey", linestyle="--", linewidth=1, label=f"active above {ACTIVE_KL_NATS} nats")
    ax.set_xticks(np.arange(len(kl)))
    ax.set_xticklabels([f"z{i}" for i in range(len(kl))])
    ax.set_xlabel("latent")
    ax.set_ylabel("mean KL (nats)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_png(fig, path)
