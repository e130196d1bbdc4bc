"""Minibatch estimators of log q(z) and the beta-TCVAE decomposition of the KL term (Chen et al. 2018).

The aggregate posterior q(z) = 1/N sum_n q(z|x_n) over a dataset of N images is estimated from a minibatch
of M posteriors q(z|x_j) at samples z_i ~ q(z|x_i):

* "mws", minibatch weighted sampling (Chen et al. 2018 Sec. 4.1, the estimator printed there):
  log q(z_i) ~ logsumexp_j log q(z_i|x_j) - log(N M). Its weights sum to 1/N rather than 1, so log q(z) is
  shifted by about -log N and each marginal log q(z_k) as well: the TC estimate carries a constant offset of
  about (d - 1) log N (exactly that when all posteriors in the batch are equal) and the MI estimate one of
  about -log N. The offsets do not depend on the parameters, so gradients are unaffected.
* "mss", minibatch stratified sampling (Chen et al. 2018 Appendix C.2): weight 1/N on the sample's own
  posterior, (N - M + 1) / (N (M - 1)) on one other member of the batch and 1/(M - 1) on the remaining
  M - 2; the weights sum to 1, so the values themselves are meaningful.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from betavae.models.gaussian import log_normal_diag, log_standard_normal

TC_ESTIMATORS = ("mss", "mws")


def pairwise_log_q(z: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """log q(z_ik | x_j) for every pair (i, j) and latent k: z, mu, logvar (M, d) -> (M, M, d)."""
    return log_normal_diag(z.unsqueeze(1), mu.unsqueeze(0), logvar.unsqueeze(0))


def mss_log_weights(
    batch_size: int, dataset_size: int, dtype: torch.dtype = torch.float32, device: torch.device | None = None
) -> Tensor:
    """Log importance weights (M, M) of minibatch stratified sampling, Chen et al. 2018 Appendix C.2.

    Row i holds the weights of q(z_i|x_j): 1/N for j = i, (N - M + 1) / (N (M - 1)) for j = i + 1 (mod M),
    1/(M - 1) for the others. Each row sums to 1.
    """
    m, n = batch_size, dataset_size
    if m < 2:
        raise ValueError(f"minibatch stratified sampling needs a batch of at least 2, got {m}")
    if n < m:
        raise ValueError(f"dataset_size ({n}) must be at least the batch size ({m})")
    w = torch.full((m, m), 1.0 / (m - 1), dtype=torch.float64)
    idx = torch.arange(m)
    w[idx, idx] = 1.0 / n
    w[idx, (idx + 1) % m] = (n - m + 1) / (n * (m - 1))
    return w.log().to(dtype=dtype, device=device)


def estimate_log_qz(
    z: Tensor, mu: Tensor, logvar: Tensor, dataset_size: int, estimator: str = "mss"
) -> tuple[Tensor, Tensor]:
    """Estimate log q(z_i) and sum_k log q(z_ik) for each sample of the batch.

    z: (M, d) samples, z_i ~ q(z|x_i); mu, logvar: (M, d). Returns (log_qz (M,), log_prod_qzk (M,)).
    """
    m = z.shape[0]
    logq = pairwise_log_q(z, mu, logvar)  # (M, M, d)
    if estimator == "mws":
        shift = math.log(dataset_size * m)
        log_qz = torch.logsumexp(logq.sum(2), dim=1) - shift  # (M,)
        log_prod = (torch.logsumexp(logq, dim=1) - shift).sum(1)  # (M,)
    elif estimator == "mss":
        logw = mss_log_weights(m, dataset_size, logq.dtype, logq.device)  # (M, M)
        log_qz = torch.logsumexp(logw + logq.sum(2), dim=1)
        log_prod = torch.logsumexp(logw.unsqueeze(2) + logq, dim=1).sum(1)
    else:
        raise ValueError(f"unknown TC estimator {estimator!r}; expected one of {', '.join(TC_ESTIMATORS)}")
    return log_qz, log_prod


def kl_decomposition(
    z: Tensor, mu: Tensor, logvar: Tensor, dataset_size: int, estimator: str = "mss"
) -> dict[str, Tensor]:
    """The three terms of Chen et al. 2018 Eq. 2, batch means:

    mi = E[log q(z|x) - log q(z)] (index-code mutual information),
    tc = E[log q(z) - sum_k log q(z_k)] (total correlation),
    dwkl = E[sum_k log q(z_k) - log p(z_k)] (dimension-wise KL), with p = N(0, I).
    Their sum is the Monte Carlo estimate E[log q(z|x) - log p(z)] of the KL term, whatever the estimator.
    """
    log_qzx = log_normal_diag(z, mu, logvar).sum(1)  # (M,)
    log_pz = log_standard_normal(z).sum(1)  # (M,)
    log_qz, log_prod = estimate_log_qz(z, mu, logvar, dataset_size, estimator)
    return {"mi": (log_qzx - log_qz).mean(), "tc": (log_qz - log_prod).mean(), "dwkl": (log_prod - log_pz).mean()}
