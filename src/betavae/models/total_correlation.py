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
from collections.abc import Callable

import torch
from torch import Tensor

from betavae.models.gaussian import LOG_2PI, log_normal_diag, log_standard_normal

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


def estimator_log_weights(
    estimator: str, batch_size: int, dataset_size: int, dtype: torch.dtype, device: torch.device
) -> Tensor:
    """Log weights (M, M) on q(z_i|x_j) of either estimator: MSS's (above), or MWS's constant -log(N M)."""
    if estimator == "mws":
        return torch.full((batch_size, batch_size), -math.log(dataset_size * batch_size), dtype=dtype, device=device)
    if estimator == "mss":
        return mss_log_weights(batch_size, dataset_size, dtype, device)
    raise ValueError(f"unknown TC estimator {estimator!r}; expected one of {', '.join(TC_ESTIMATORS)}")


def estimate_log_qz_unfused(
    z: Tensor, mu: Tensor, logvar: Tensor, dataset_size: int, estimator: str = "mss"
) -> tuple[Tensor, Tensor]:
    """`estimate_log_qz` written with plain tensor ops and autograd: the readable reference the fused
    version is tested against, and the baseline of its benchmark."""
    logq = pairwise_log_q(z, mu, logvar)  # (M, M, d)
    logw = estimator_log_weights(estimator, z.shape[0], dataset_size, logq.dtype, logq.device)  # (M, M)
    log_qz = torch.logsumexp(logw + logq.sum(2), dim=1)
    log_prod = torch.logsumexp(logw.unsqueeze(2) + logq, dim=1).sum(1)
    return log_qz, log_prod


class _FusedLogQz(torch.autograd.Function):
    """log q(z_i) and sum_k log q(z_ik) from (M, M, d) pairwise densities, with a hand-written backward.

    Autograd would keep every (M, M, d) intermediate of the density and the two log-sum-exps and take
    about twenty passes over them; here the pairs are laid out (d, M_i, M_j) so both reductions run
    over the contiguous axis, and the backward recomputes the differences and takes the gradients of
    log N(z; mu, exp(logvar)) directly:
    d/dz = -(z - mu) / var, d/dmu = (z - mu) / var, d/dlogvar = ((z - mu)^2 / var - 1) / 2.
    """

    @staticmethod
    def forward(ctx, z: Tensor, mu: Tensor, logvar: Tensor, logw: Tensor) -> tuple[Tensor, Tensor]:
        zt, mut, lvt = z.t().contiguous(), mu.t().contiguous(), logvar.t().contiguous()  # (d, M)
        inv_var = torch.exp(-lvt)  # (d, M_j)
        diff = zt.unsqueeze(2) - mut.unsqueeze(1)  # (d, M_i, M_j)
        logq = diff.square().mul_(inv_var.unsqueeze(1)).add_((LOG_2PI + lvt).unsqueeze(1)).mul_(-0.5)
        joint = logq.sum(0).add_(logw)  # (M_i, M_j): log w_ij q(z_i | x_j)
        log_qz = torch.logsumexp(joint, dim=1)  # (M,)
        logq.add_(logw)  # log w_ij q(z_ik | x_j), in place
        log_marginals = torch.logsumexp(logq, dim=2)  # (d, M_i)
        ctx.save_for_backward(zt, mut, inv_var, logq, log_marginals, joint, log_qz)
        return log_qz, log_marginals.sum(0)

    @staticmethod
    def backward(ctx, grad_qz: Tensor, grad_prod: Tensor) -> tuple[Tensor, Tensor, Tensor, None]:
        zt, mut, inv_var, weighted, log_marginals, joint, log_qz = ctx.saved_tensors
        # d out / d logq_kij: grad_prod_i * softmax_j(weighted_ki.) + grad_qz_i * softmax_j(joint_i.)
        g = (weighted - log_marginals.unsqueeze(2)).exp_().mul_(grad_prod.view(1, -1, 1))
        g.add_((joint - log_qz.unsqueeze(1)).exp_().mul_(grad_qz.unsqueeze(1)))  # (d, M_i, M_j)
        diff = zt.unsqueeze(2) - mut.unsqueeze(1)
        gh = diff * inv_var.unsqueeze(1)
        gh.mul_(g)  # g (z - mu) / var
        grad_z = -gh.sum(2).t()
        grad_mu = gh.sum(1).t()
        grad_logvar = (0.5 * gh.mul_(diff).sum(1) - 0.5 * g.sum(1)).t()
        return grad_z, grad_mu, grad_logvar, None


def estimate_log_qz(
    z: Tensor, mu: Tensor, logvar: Tensor, dataset_size: int, estimator: str = "mss"
) -> tuple[Tensor, Tensor]:
    """Estimate log q(z_i) and sum_k log q(z_ik) for each sample of the batch.

    z: (M, d) samples, z_i ~ q(z|x_i); mu, logvar: (M, d). Returns (log_qz (M,), log_prod_qzk (M,)),
    computed in float32 at least, with the fused forward and backward of `_FusedLogQz`.
    """
    dtype = torch.promote_types(z.dtype, torch.float32)
    logw = estimator_log_weights(estimator, z.shape[0], dataset_size, dtype, z.device)
    return _FusedLogQz.apply(z.to(dtype), mu.to(dtype), logvar.to(dtype), logw)


def kl_decomposition(
    z: Tensor,
    mu: Tensor,
    logvar: Tensor,
    dataset_size: int,
    estimator: str = "mss",
    log_prior: Callable[[Tensor], Tensor] | None = None,
) -> dict[str, Tensor]:
    """The three terms of Chen et al. 2018 Eq. 2, batch means:

    mi = E[log q(z|x) - log q(z)] (index-code mutual information),
    tc = E[log q(z) - sum_k log q(z_k)] (total correlation),
    dwkl = E[sum_k log q(z_k) - log p(z)] (dimension-wise KL), with p = N(0, I) unless `log_prior`
    (z (M, d) -> log p(z) (M,), e.g. the ISA prior of Stuhmer et al. 2020) says otherwise.
    Their sum is the Monte Carlo estimate E[log q(z|x) - log p(z)] of the KL term, whatever the estimator.
    """
    log_qzx = log_normal_diag(z, mu, logvar).sum(1)  # (M,)
    log_pz = log_standard_normal(z).sum(1) if log_prior is None else log_prior(z)  # (M,)
    log_qz, log_prod = estimate_log_qz(z, mu, logvar, dataset_size, estimator)
    return {"mi": (log_qzx - log_qz).mean(), "tc": (log_qz - log_prod).mean(), "dwkl": (log_prod - log_pz).mean()}
