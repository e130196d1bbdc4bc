"""How well a VAE reconstructs its data and how much its posterior uses each latent.

On `num_samples` images drawn from the dataset with `rng` (any dataset: factors are not needed):

- ``log_likelihood``: E_q(z|x)[log p(x|z)] per image in nats, one reparameterised sample z per image
  (Kingma & Welling 2014, Eq. 7), under the model's own pixel likelihood (Bernoulli logits, or a
  Gaussian with fixed or learned scale) as computed by ``model.reconstruction_nll``.
- ``kl``: KL(q(z|x) || N(0, I)) per image in nats (Kingma & Welling 2014, Appendix B), and
  ``kl.<i>`` for every latent i.
- ``elbo`` = log_likelihood - kl (Kingma & Welling 2014, Eq. 3; beta = 1 whatever the training beta).
- ``active_latents_kl``: latents whose mean KL exceeds `kl_threshold` nats (by default the active-latent
  threshold :data:`betavae.config.metrics.ACTIVE_KL_NATS`, 0.01);
  ``active_latents_var``: latents whose posterior mean varies across the data, Var_x(E_q[z_i]) above
  `variance_threshold` (0.01; the activity measure of Burda et al. 2016, Sec. 5.2).

The model follows the models contract: ``encode(x) -> (mu, logvar)``, ``decode(z) -> recon``,
``reconstruction_nll(recon, x) -> (B,)``, ``config.latent_dim``, with x float (B, C, H, W) = the uint8
images (B, H, W, C) permuted and divided by ``data.max_pixel_value``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, cast

import numpy as np
import torch

from betavae.config.metrics import ACTIVE_KL_NATS
from betavae.data.ground_truth import GroundTruthData
from betavae.data.protocols import ImageSet
from betavae.evaluation.inference import decode, encode, images_to_input, kl_sum, labels_of
from betavae.metrics.settings import MetricSettings, module_functions, setting
from betavae.models.gaussian import reparameterise
from betavae.models.vae import VAE

__all__ = ["Params", "compute", "describe"]

NAME = "reconstruction"


@dataclass(frozen=True)
class Params(MetricSettings):
    """Settings of the reconstruction measures."""

    metric: ClassVar[str] = NAME

    num_samples: int = setting(10000, minimum=2)
    batch_size: int = setting(512, minimum=1)
    kl_threshold: float = setting(ACTIVE_KL_NATS, minimum=0.0)
    variance_threshold: float = setting(0.01, minimum=0.0)

    def draws(self) -> int:
        """Number of images the measures encode with these settings."""
        return self.num_samples


describe, _ = module_functions(Params)


def _draw_images(
    model: VAE, data: ImageSet | GroundTruthData, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray | None]:
    """`n` images of `data` and, for a conditional model, their classes: rows drawn without replacement
    (with, if `n` exceeds the dataset) when the dataset holds its images, else via its factors; datasets
    without factors (CelebA) need `images`."""
    held = getattr(data, "images", None)
    if held is not None:
        rows = np.sort(rng.choice(len(held), size=n, replace=n > len(held)))
        return held[rows], labels_of(model, data, rows)
    factors, images = cast(GroundTruthData, data).sample(n, rng)  # no images held: sampled through its factors
    if not getattr(model, "conditional", False):
        return images, None
    return images, factors[:, list(cast(GroundTruthData, data).factor_names).index(str(model.config.condition_on))]


@torch.no_grad()
def compute(model: VAE, data: ImageSet | GroundTruthData, rng: np.random.Generator, **params: Any) -> dict[str, float]:
    """Reconstruction log-likelihood, ELBO, KL (total and per latent) and active-latent counts.

    All quantities are means over `num_samples` images, in nats per image.
    """
    p = Params.parse(params)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    generator = torch.Generator(device=device)
    generator.manual_seed(int(rng.integers(2**63 - 1)))
    images, labels = _draw_images(model, data, p.num_samples, np.random.default_rng(int(rng.integers(2**63 - 1))))

    log_lik = 0.0
    kl_total: torch.Tensor | None = None
    means = []
    try:
        for start in range(0, p.num_samples, p.batch_size):
            x = images_to_input(images[start : start + p.batch_size], int(data.max_pixel_value), device)
            c = None if labels is None else torch.from_numpy(labels[start : start + p.batch_size]).to(device)
            mu, logvar = encode(model, x, c)  # (B, d) each
            z = reparameterise(mu, logvar, generator)
            recon = decode(model, z, c)  # (B, C, H, W)
            log_lik -= float(model.reconstruction_nll(recon, x).double().sum())
            kl = kl_sum(mu, logvar)  # (d,)
            kl_total = kl if kl_total is None else kl_total + kl
            means.append(mu.double().cpu())
    finally:
        model.train(was_training)
    assert kl_total is not None
    kl_per_latent = (kl_total / p.num_samples).cpu().numpy()
    mean_codes = torch.cat(means).numpy()
    variances = mean_codes.var(axis=0, ddof=1)
    out = {
        "log_likelihood": log_lik / p.num_samples,
        "kl": float(kl_per_latent.sum()),
        "active_latents_kl": float((kl_per_latent > p.kl_threshold).sum()),
        "active_latents_var": float((variances > p.variance_threshold).sum()),
    }
    out["elbo"] = out["log_likelihood"] - out["kl"]
    out.update({f"kl.{i}": float(v) for i, v in enumerate(kl_per_latent)})
    return out
