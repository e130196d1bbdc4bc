"""Regularised deterministic autoencoders, the baselines of the disentanglement survey: the code is the
encoder mean mu (the log-variance head is left untrained) and the decoder reconstructs x from it.

"kl" and "kl_per_latent" are reported for comparison with the VAEs only; they are not part of "total".
"""

from __future__ import annotations

import torch
from torch import Tensor

from betavae.config.objectives import (
    ContractiveAEConfig,
    DenoisingAEConfig,
    KLSparseAEConfig,
    KSparseAEConfig,
    SparseAEConfig,
)
from betavae.errors import ConfigError
from betavae.models.objectives import Objective, gaussian_kl_terms
from betavae.models.vae import VAE


def _terms(model: VAE, x: Tensor, code: Tensor, mu: Tensor, logvar: Tensor) -> dict[str, Tensor]:
    recon = model.reconstruction_nll(model.decode(code), x).mean()
    kl, kl_per_latent = gaussian_kl_terms(mu.detach(), logvar.detach())
    return {"total": recon, "reconstruction": recon, "kl": kl, "kl_per_latent": kl_per_latent}


def mask_pixels(x: Tensor, fraction: float, generator: torch.Generator | None = None) -> Tensor:
    """Masking noise (Vincent et al. 2008 Sec. 2.3): each pixel independently set to 0 with prob `fraction`."""
    keep = torch.rand(x.shape, generator=generator, device=x.device) >= fraction
    return x * keep


def top_k_mask(code: Tensor, k: int) -> Tensor:
    """Keep the k largest entries of each row and zero the rest (Makhzani & Frey 2013 Sec. 2). (B, d) -> (B, d)."""
    idx = torch.topk(code, k, dim=1).indices
    mask = torch.zeros_like(code).scatter_(1, idx, 1.0)
    return code * mask


def jacobian_frobenius_sq(model: VAE, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(||d mu / d x||_F^2 per image (B,), mu, logvar) for the encoder mean, one backward pass per latent.

    Images are independent, so the gradient of sum_b mu_bj w.r.t. x holds row j of every image's Jacobian.
    The graph is kept so the penalty can be minimised (Rifai et al. 2011 Eq. 2).
    """
    x = x.detach().requires_grad_(True)
    mu, logvar = model.encode(x)
    sq = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    for j in range(mu.shape[1]):
        (g,) = torch.autograd.grad(mu[:, j].sum(), x, create_graph=True)
        sq = sq + g.pow(2).flatten(1).sum(1)
    return sq, mu, logvar


class DenoisingAEObjective(Objective[DenoisingAEConfig]):
    """Reconstruct the clean x from the code of a masked copy (Vincent et al. 2008)."""

    configs = (DenoisingAEConfig,)

    def forward(
        self, model: VAE, x: Tensor, step: int, x_aux: Tensor | None = None, generator: torch.Generator | None = None
    ) -> dict[str, Tensor]:
        mu, logvar = model.encode(mask_pixels(x, self.config.corruption, generator))
        return _terms(model, x, mu, mu, logvar)


class SparseAEObjective(Objective[SparseAEConfig]):
    """recon + sparsity_weight * ||mu||_1 (an L1 penalty on the codes), batch mean."""

    configs = (SparseAEConfig,)

    def forward(
        self, model: VAE, x: Tensor, step: int, x_aux: Tensor | None = None, generator: torch.Generator | None = None
    ) -> dict[str, Tensor]:
        mu, logvar = model.encode(x)
        terms = _terms(model, x, mu, mu, logvar)
        l1 = mu.abs().sum(1).mean()
        terms["total"] = terms["reconstruction"] + self.config.sparsity_weight * l1
        terms["code_l1"] = l1
        return terms


def bernoulli_kl(rho: float, rho_hat: Tensor) -> Tensor:
    """KL(Bernoulli(rho) || Bernoulli(rho_hat)) elementwise (Singh 2018 Sec. 3.2)."""
    return rho * torch.log(rho / rho_hat) + (1.0 - rho) * torch.log((1.0 - rho) / (1.0 - rho_hat))


class KLSparseAEObjective(Objective[KLSparseAEConfig]):
    """recon + sparsity_weight * sum_j KL(rho || rho_hat_j), rho_hat_j = mean over the batch of sigmoid(mu_j):
    the sparse autoencoder of Singh 2018 Sec. 3.2 (Ng's), on the code units (the L1 variant is `sparse_ae`)."""

    configs = (KLSparseAEConfig,)

    def forward(
        self, model: VAE, x: Tensor, step: int, x_aux: Tensor | None = None, generator: torch.Generator | None = None
    ) -> dict[str, Tensor]:
        mu, logvar = model.encode(x)
        terms = _terms(model, x, mu, mu, logvar)
        rho_hat = torch.sigmoid(mu).mean(0).clamp(1e-6, 1.0 - 1e-6)  # (d,), kept off 0 and 1 for the logs
        penalty = bernoulli_kl(self.config.sparsity_target, rho_hat).sum()
        terms["total"] = terms["reconstruction"] + self.config.sparsity_weight * penalty
        terms["sparsity_kl"] = penalty
        return terms


class KSparseAEObjective(Objective[KSparseAEConfig]):
    """Decode only the k largest code units of each image (Makhzani & Frey 2013); gradients reach only them.
    (`encode` still returns the full code, as a representation for evaluation.)"""

    configs = (KSparseAEConfig,)

    @classmethod
    def build(cls, config: KSparseAEConfig, *, latent_dim: int, dataset_size: int) -> KSparseAEObjective:
        if config.sparsity_k > latent_dim:
            raise ConfigError(f"train.sparsity_k must be <= model.latent_dim = {latent_dim}, got {config.sparsity_k}")
        return cls(config)

    def forward(
        self, model: VAE, x: Tensor, step: int, x_aux: Tensor | None = None, generator: torch.Generator | None = None
    ) -> dict[str, Tensor]:
        mu, logvar = model.encode(x)
        return _terms(model, x, top_k_mask(mu, self.config.sparsity_k), mu, logvar)


class ContractiveAEObjective(Objective[ContractiveAEConfig]):
    """recon + contractive_weight * ||J_mu(x)||_F^2, batch mean (Rifai et al. 2011 Eq. 2)."""

    configs = (ContractiveAEConfig,)

    def forward(
        self, model: VAE, x: Tensor, step: int, x_aux: Tensor | None = None, generator: torch.Generator | None = None
    ) -> dict[str, Tensor]:
        jac_sq, mu, logvar = jacobian_frobenius_sq(model, x)
        terms = _terms(model, x, mu, mu, logvar)
        penalty = jac_sq.mean()
        terms["total"] = terms["reconstruction"] + self.config.contractive_weight * penalty
        terms["jacobian_frobenius_sq"] = penalty
        return terms
