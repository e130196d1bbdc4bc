"""The L^p-nested ISA prior of Stuhmer, Turner & Nowozin 2020 ("Independent Subspace Analysis for
Unsupervised Learning of Disentangled Representations"), built on the L^p-nested symmetric distributions
of Sinz & Bethge 2010.

The latents are split into L contiguous subspaces V_1..V_L of sizes n_1..n_L (n = sum n_l). The
L^p-nested function is

    f(z) = ( sum_l ( sum_{k in V_l} |z_k|^{p_l} )^{p0 / p_l} )^{1 / p0},

and the density is p(z) = psi(f(z)) / (f(z)^{n-1} S_f(1)), with S_f(1) the surface of the unit f-sphere and
the radial law psi(r) = r^{n-1} exp(-r^{p0} / p0) / (p0^{n/p0 - 1} Gamma(n / p0)), i.e.

    p(z) = p0^{1 - n/p0} / (Gamma(n/p0) S_f(1)) * exp(-f(z)^{p0} / p0)            (Stuhmer et al. 2020)

With p0 = p_l = 2 the radial law is chi with n degrees of freedom and p is the standard normal.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

_TINY = 1e-30


def _log_beta(a: Tensor, b: Tensor) -> Tensor:
    return torch.lgamma(a) + torch.lgamma(b) - torch.lgamma(a + b)


def log_gamma_sample(alpha: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """log of Gamma(alpha, 1) draws, one per entry of `alpha` (float64), reproducible with `generator`.

    Marsaglia & Tsang 2000 for shape >= 1; for shape a < 1, G(a) = G(a + 1) * U^(1/a), kept in logs so
    that tiny shapes do not underflow.
    """
    alpha = alpha.to(torch.float64)
    boost = alpha < 1.0
    a = torch.where(boost, alpha + 1.0, alpha)
    d = a - 1.0 / 3.0
    c = 1.0 / torch.sqrt(9.0 * d)
    out = torch.empty_like(a)
    todo = torch.ones_like(a, dtype=torch.bool)
    while bool(todo.any()):
        idx = todo.nonzero(as_tuple=True)
        x = torch.randn(idx[0].shape, generator=generator, dtype=torch.float64)
        u = torch.rand(idx[0].shape, generator=generator, dtype=torch.float64)
        v = (1.0 + c[idx] * x) ** 3
        ok = (v > 0) & (torch.log(u) < 0.5 * x * x + d[idx] - d[idx] * v + d[idx] * torch.log(v.clamp_min(_TINY)))
        accepted = tuple(i[ok] for i in idx)
        out[accepted] = torch.log(d[idx][ok] * v[ok])
        todo[accepted] = False
    u = torch.rand(a.shape, generator=generator, dtype=torch.float64).clamp_min(_TINY)
    return torch.where(boost, out + torch.log(u) / alpha, out)


class LpNestedISA(nn.Module):
    """L^p-nested ISA distribution over R^n with subspace sizes `layout`, outer exponent p0 and inner
    exponents p (one shared float or one per subspace).

    With `learn_exponents`, the subspace exponents p are parameters kept positive by p = exp(log p); the
    outer exponent p0 stays fixed, as in Stuhmer et al. 2020 Appendix A.2 (p0 = 2.1, the p_l learned from
    2.0), so a prior that learns p_l = p0 for every subspace is the factorised one.
    """

    def __init__(
        self, layout: Sequence[int], p0: float = 2.0, p: float | Sequence[float] = 2.0, learn_exponents: bool = False
    ) -> None:
        super().__init__()
        layout = tuple(int(n) for n in layout)
        if not layout or any(n < 1 for n in layout):
            raise ValueError(f"layout must be a non-empty sequence of sizes >= 1, got {layout!r}")
        ps = [float(p)] * len(layout) if isinstance(p, (int, float)) else [float(q) for q in p]
        if len(ps) != len(layout):
            raise ValueError(f"need one inner exponent per subspace ({len(layout)}), got {len(ps)}")
        if p0 <= 0 or any(q <= 0 for q in ps):
            raise ValueError(f"exponents must be > 0, got p0={p0}, p={ps}")
        self.layout = layout
        self.dim = sum(layout)
        log_p0 = torch.tensor(math.log(p0), dtype=torch.float64)
        log_p = torch.tensor([math.log(q) for q in ps], dtype=torch.float64)
        self.log_p0: Tensor
        self.register_buffer("log_p0", log_p0.float())  # fixed: Stuhmer et al. learn the inner exponents only
        if learn_exponents:
            self.log_p = nn.Parameter(log_p.float())
        else:
            self.register_buffer("log_p", log_p.float())

    @property
    def p0(self) -> Tensor:
        return torch.exp(self.log_p0)

    @property
    def p(self) -> Tensor:
        """Inner exponents, one per subspace: (L,)."""
        return torch.exp(self.log_p)

    def log_unit_surface(self, p0: Tensor, p: Tensor) -> Tensor:
        """log S_f(1), the surface of the unit L^p-nested sphere (Sinz & Bethge 2010, Eq. for S_f(1)):
        2^n times, for every inner node with exponent q and children of sizes m_1..m_l,
        q^{-(l-1)} prod_{k=1}^{l-1} B((m_1 + ... + m_k) / q, m_{k+1} / q)."""
        out = self.dim * math.log(2.0) + torch.zeros_like(p0)
        sizes = self.layout
        out = out - (len(sizes) - 1) * torch.log(p0)
        cum = 0
        for k in range(len(sizes) - 1):
            cum += sizes[k]
            out = out + _log_beta(cum / p0, sizes[k + 1] / p0)
        for n_l, p_l in zip(sizes, p):
            if n_l > 1:
                ks = torch.arange(1, n_l, dtype=p_l.dtype, device=p_l.device)
                out = out - (n_l - 1) * torch.log(p_l) + _log_beta(ks / p_l, 1.0 / p_l).sum()
        return out

    def f_pow_p0(self, z: Tensor) -> Tensor:
        """f(z)^p0 for z (..., n) -> (...), computed in logs for stability."""
        p0, p = self.p0.to(z.dtype), self.p.to(z.dtype)
        log_abs = torch.log(z.abs().clamp_min(_TINY))
        total = torch.zeros(z.shape[:-1], dtype=z.dtype, device=z.device)
        start = 0
        for n_l, p_l in zip(self.layout, p):
            log_s = torch.logsumexp(p_l * log_abs[..., start : start + n_l], dim=-1)  # log sum |z_k|^p_l
            total = total + torch.exp(p0 / p_l * log_s)
            start += n_l
        return total

    def log_prob(self, z: Tensor) -> Tensor:
        """Normalised log-density log p(z) for z (..., n) -> (...)."""
        if z.shape[-1] != self.dim:
            raise ValueError(f"expected z with last dimension {self.dim}, got shape {tuple(z.shape)}")
        p0, p = self.p0.to(z.dtype), self.p.to(z.dtype)
        n = self.dim
        log_norm = (1.0 - n / p0) * torch.log(p0) - torch.lgamma(n / p0) - self.log_unit_surface(p0, p)
        return log_norm - self.f_pow_p0(z) / p0

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """Exact draws (n, dim), Stuhmer et al. 2020 Algorithm 1 (after Sinz & Bethge 2010):

        1. radius r with r^p0 / p0 ~ Gamma(n / p0);
        2. outer direction: u ~ Dirichlet(n_1/p0, ..., n_L/p0), subspace radii t_l = u_l^(1/p0);
        3. inner directions: v ~ Dirichlet(1/p_l, ..., 1/p_l) in each subspace, |z_k| = r t_l v_k^(1/p_l);
        4. independent random signs.
        Gamma draws come from `generator`, so equal seeds give equal samples.
        """
        p0 = self.p0.double().cpu()
        p = self.p.double().cpu()
        log_r = (torch.log(p0) + log_gamma_sample(torch.full((n,), self.dim / p0.item()), generator)) / p0
        sizes = torch.tensor(self.layout, dtype=torch.float64)
        log_g = log_gamma_sample((sizes / p0).expand(n, -1).contiguous(), generator)  # (n, L)
        log_t = (log_g - torch.logsumexp(log_g, dim=1, keepdim=True)) / p0  # log t_l, (n, L)
        parts = []
        for layer, (n_l, p_l) in enumerate(zip(self.layout, p)):
            log_h = log_gamma_sample(torch.full((n, n_l), 1.0 / p_l.item()), generator)  # (n, n_l)
            log_v = log_h - torch.logsumexp(log_h, dim=1, keepdim=True)
            parts.append(log_t[:, layer : layer + 1] + log_v / p_l)
        log_abs = log_r.unsqueeze(1) + torch.cat(parts, dim=1)  # (n, dim)
        signs = torch.where(torch.rand((n, self.dim), generator=generator, dtype=torch.float64) < 0.5, -1.0, 1.0)
        return (signs * torch.exp(log_abs)).to(self.log_p0.dtype).to(self.log_p0.device)
