"""UDR (Duan et al. 2020) of trained runs: each run scored against the other seeds of its configuration."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from betavae.config import EvaluateConfig
from betavae.data.protocols import ImageSet
from betavae.evaluation.comparison import model_label
from betavae.evaluation.scoring import ScoredRun
from betavae.training.checkpoint import model_from_checkpoint


@torch.no_grad()
def means_and_kl(model: torch.nn.Module, images: np.ndarray, max_pixel_value: int, batch_size: int = 1024
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Posterior means (n, d) of `images` and the mean KL(q(z_i|x) || N(0, 1)) per latent (d,)."""
    from betavae.evaluation.reconstruction import images_to_input
    from betavae.models.gaussian import kl_normal_standard

    model.eval()
    means, kl_sum = [], None
    for start in range(0, len(images), batch_size):
        mu, logvar = model.encode(images_to_input(images[start:start + batch_size], max_pixel_value))
        means.append(mu.double().numpy())
        kl = kl_normal_standard(mu, logvar).double().sum(0).numpy()
        kl_sum = kl if kl_sum is None else kl_sum + kl
    return np.concatenate(means), kl_sum / len(images)


def udr_scores(data: ImageSet, scored: Sequence[ScoredRun], cfg: EvaluateConfig) -> None:
    """UDR (Duan et al. 2020) of every run among the seeds of its configuration, added to its scores.

    Runs are grouped by configuration (everything but the seed); each group's models encode the same
    `num_samples` images drawn with the evaluation seed. A configuration with one seed gets a note
    saying why it has no UDR.
    """
    from betavae.metrics import udr

    settings = udr.Params.parse(cfg.udr)
    groups: dict[str, list[ScoredRun]] = {}
    for item in scored:
        groups.setdefault(model_label(item.run), []).append(item)
    rng = np.random.default_rng([cfg.seed, 7])
    held = data.images
    rows = np.sort(rng.choice(len(held), size=min(settings.num_samples, len(held)), replace=False))
    images = held[rows]
    for label, items in groups.items():
        if len(items) < 2:
            for item in items:
                item.notes["skipped.udr"] = (f"UDR compares seeds of one configuration; {label} has "
                                             f"{len(items)} (add seeds to sweep.seeds)")
            continue
        codes, kls = [], []
        for item in items:
            model, _ = model_from_checkpoint(item.checkpoint)
            mu, kl = means_and_kl(model, images, int(data.max_pixel_value))
            codes.append(mu)
            kls.append(kl)
        for correlation in udr.CORRELATIONS:
            result = udr.from_codes(codes, kls, correlation=correlation, kl_threshold=settings.kl_threshold,
                                    lasso_alpha=settings.lasso_alpha, seed=cfg.seed)
            for item, value, active in zip(items, result.model_scores, result.active, strict=True):
                item.scores[f"udr.{correlation}"] = value
                item.scores["udr.active_latents"] = float(active)
        for item in items:
            item.notes["estimator.udr"] = (f"Duan et al. 2020 over {len(items)} seeds of {label}, "
                                           f"{len(images)} images, KL > {settings.kl_threshold:g} nats")
