"""Loss terms over training steps, read back from the run's MLflow metric history.

The training loop logs every term of the objective (total, reconstruction, KL and the objective's own
terms such as total correlation or capacity) every `train.log_every` steps. Picture size:
`SIZES["losses"]` (1000 x 500 pixels): one panel per term, shared step axis.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from betavae.render.figure import new_figure, save_png

#: Step metrics that are not loss terms.
NOT_TERMS = ("kl_per_latent.", "images_per_second", "isa_p", "lr")


def loss_history(client: Any, run_id: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every loss term of the run with at least two logged steps: name -> (steps, values), by step."""
    run = client.get_run(run_id)
    out = {}
    for name in sorted(run.data.metrics):
        if name.startswith(NOT_TERMS):
            continue
        history = sorted(client.get_metric_history(run_id, name), key=lambda m: (m.step, m.timestamp))
        if len({m.step for m in history}) < 2:
            continue  # a final score, not a curve
        steps = np.array([m.step for m in history])
        values = np.array([m.value for m in history])
        out[name] = (steps, values)
    return out


def save_losses_png(history: dict[str, tuple[np.ndarray, np.ndarray]], path: Path, title: str = "") -> Path:
    """One panel per loss term against the training step (main terms first)."""
    first = [n for n in ("total", "reconstruction", "kl") if n in history]
    names = first + [n for n in history if n not in first]
    fig, axes = new_figure("losses", 1, max(len(names), 1))
    for ax, name in zip(axes[0], names):
        steps, values = history[name]
        ax.plot(steps, values, linewidth=1.2)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("step")
    axes[0, 0].set_ylabel("nats per image")
    if not names:
        axes[0, 0].text(0.5, 0.5, "no loss history logged", ha="center", va="center")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_png(fig, path)
