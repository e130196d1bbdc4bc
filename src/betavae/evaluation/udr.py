"""UDR (Duan et al. 2020) of trained runs: each run scored against the other seeds of its configuration."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from betavae.config import EvaluateConfig
from betavae.data.protocols import ImageSet
from betavae.errors import DataError
from betavae.evaluation.inference import labels_of, posterior_means_and_kl
from betavae.evaluation.scoring import ScoredRun
from betavae.evaluation.sweep_table import by_configuration
from betavae.training.checkpoint import model_from_checkpoint


def udr_scores(data: ImageSet, scored: Sequence[ScoredRun], cfg: EvaluateConfig) -> None:
    """UDR (Duan et al. 2020) of every run among the seeds of its configuration, added to its scores.

    Runs are grouped by configuration (everything but the seed); each group's models encode the same
    `num_samples` images drawn with the evaluation seed. A configuration with one seed gets a note
    saying why it has no UDR.
    """
    from betavae.metrics import udr

    settings = udr.Params.parse(cfg.udr)
    groups = by_configuration(scored, lambda item: item.run)
    rng = np.random.default_rng([cfg.seed, 7])
    held = data.images
    rows = np.sort(rng.choice(len(held), size=min(settings.num_samples, len(held)), replace=False))
    images = held[rows]
    for label, items in groups.items():
        if len(items) < 2:
            for item in items:
                item.notes["skipped.udr"] = (
                    f"UDR compares seeds of one configuration; {label} has {len(items)} (add seeds to sweep.seeds)"
                )
            continue
        codes, kls = [], []
        for item in items:
            if item.checkpoint is None:
                raise DataError(f"UDR encodes with each run's checkpoint; a scored run of {label} names none")
            model, _ = model_from_checkpoint(item.checkpoint)
            labels = labels_of(model, data, rows)
            mu, kl = posterior_means_and_kl(model, images, int(data.max_pixel_value), labels=labels)
            codes.append(mu)
            kls.append(kl)
        for correlation in udr.CORRELATIONS:
            result = udr.from_codes(
                codes,
                kls,
                correlation=correlation,
                kl_threshold=settings.kl_threshold,
                lasso_alpha=settings.lasso_alpha,
                seed=cfg.seed,
            )
            for item, value, active in zip(items, result.model_scores, result.active, strict=True):
                item.scores[f"udr.{correlation}"] = value
                item.scores["udr.active_latents"] = float(active)
        for item in items:
            item.notes["estimator.udr"] = (
                f"Duan et al. 2020 over {len(items)} seeds of {label}, "
                f"{len(images)} images, KL > {settings.kl_threshold:g} nats"
            )
