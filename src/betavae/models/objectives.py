"""Training objectives of the beta-VAE family.

An objective is called as `objective(model, x, step, x_aux=None, generator=None)` and returns a dict of
scalar tensors with at least "total" (minimised), "reconstruction" and "kl" (batch means) and
"kl_per_latent" (d,). Objectives hold no step counter: schedules are pure functions of `step`.
"""

from __future__ import annotations

from typing import ClassVar, Generic, TypeVar

import torch
from torch import Tensor, nn

from betavae.config.objectives import (
    AEConfig,
    BetaSchedule,
    BetaTCVAEConfig,
    BetaVAEConfig,
    CapacityConfig,
    DIPVAEConfig,
    ISATCVAEConfig,
    ISAVAEConfig,
    ObjectiveConfig,
    VAEConfig,
)
from betavae.errors import ConfigError
from betavae.models.gaussian import kl_normal_standard, log_normal_diag
from betavae.models.priors import LpNestedISA
from betavae.models.total_correlation import kl_decomposition
from betavae.models.vae import VAE, Condition, VAEOutput

ConfigT = TypeVar("ConfigT", bound=ObjectiveConfig)
"""The config type an objective class takes."""


class Objective(nn.Module, Generic[ConfigT]):
    """Base class. Trainable parts (a discriminator, learned prior exponents) are submodules, so they are
    in the objective's state_dict. `model_parameters()` are trained by the model optimiser together with
    `model.parameters()`; `discriminator_parameters()` by a second optimiser (FactorVAE only)."""

    needs_aux_batch: bool = False
    takes_condition: bool = False  # forward() takes `c`, the classes of a conditional model's images
    configs: ClassVar[tuple[type[ObjectiveConfig], ...]] = ()  # the configs this class implements

    def __init__(self, config: ConfigT) -> None:
        super().__init__()
        self.config = config

    @classmethod
    def build(cls, config: ConfigT, *, latent_dim: int, dataset_size: int) -> Objective:
        """The objective for `config`, a model of `latent_dim` latents and a dataset of `dataset_size` images."""
        return cls(config)

    def model_parameters(self) -> list[nn.Parameter]:
        """Objective parameters trained with the model (none unless overridden)."""
        return []

    def discriminator_parameters(self) -> list[nn.Parameter]:
        """Parameters of an adversary trained on "discriminator_total" (none unless overridden)."""
        return []

    def forward(
        self, model: VAE, x: Tensor, step: int, x_aux: Tensor | None = None, generator: torch.Generator | None = None
    ) -> dict[str, Tensor]:
        raise NotImplementedError


def reconstruction_loss(model: VAE, out: VAEOutput, x: Tensor) -> Tensor:
    """Per-image negative log-likelihood summed over pixels, averaged over the batch: scalar."""
    return model.reconstruction_nll(out.recon, x).mean()


def gaussian_kl_terms(mu: Tensor, logvar: Tensor) -> tuple[Tensor, Tensor]:
    """(kl, kl_per_latent): KL(q(z|x) || N(0, I)) summed over latents and per latent, batch means.

    Implements Kingma & Welling 2014 Appendix B. mu, logvar: (B, d) -> scalar, (d,).
    """
    kl_per_latent = kl_normal_standard(mu, logvar).mean(0)  # (d,)
    return kl_per_latent.sum(), kl_per_latent


class BetaVAEObjective(Objective[AEConfig | VAEConfig | BetaVAEConfig]):
    """recon + beta * KL: Higgins et al. 2017 Eq. 4, beta constant or scaled by `train.beta_schedule`.

    "ae" is beta = 0 (the reconstruction term alone, still with a sampled code), "vae" is beta = 1 (the
    negative ELBO of Kingma & Welling 2014 Eq. 10), "beta_vae" takes beta from the config. These are the
    objectives of a conditional model (`takes_condition`): with classes c, the conditional VAE.
    """

    takes_condition = True

    configs = (AEConfig, VAEConfig, BetaVAEConfig)

    def __init__(self, config: AEConfig | VAEConfig | BetaVAEConfig) -> None:
        super().__init__(config)
        self.beta = config.kl_weight

    def forward(
        self,
        model: VAE,
        x: Tensor,
        step: int,
        x_aux: Tensor | None = None,
        generator: torch.Generator | None = None,
        c: Condition = None,
    ) -> dict[str, Tensor]:
        """The terms on batch x; `c`, the classes of a conditional model's images, makes the terms those of
        the conditional ELBO, log p(x|z, c) and KL(q(z|x, c) || p(z)) (Singh 2018 Sec. 4.2)."""
        out = model(x, generator=generator) if c is None else model(x, generator=generator, c=c)
        recon = reconstruction_loss(model, out, x)
        kl, kl_per_latent = gaussian_kl_terms(out.mu, out.logvar)
        beta = self.beta * beta_factor(getattr(self.config, "beta_schedule", None), step)
        return {
            "total": recon + beta * kl,
            "reconstruction": recon,
            "kl": kl,
            "kl_per_latent": kl_per_latent,
            **scheduled_terms(self.config, step, kl),
        }


def capacity(step: int, c_max: float, steps: int) -> float:
    """The capacity C(step) of Burgess et al. 2018 Sec. 5: rises linearly from 0 at step 0 to `c_max` at
    step `steps`, and stays at `c_max` afterwards."""
    if steps < 1:
        raise ValueError(f"capacity steps must be >= 1, got {steps}")
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}")
    return float(c_max) * min(1.0, step / steps)


def beta_factor(schedule: BetaSchedule | None, step: int) -> float:
    """The factor on beta at `step` (0-based) under `schedule`; 1 for a constant beta (None).

    linear: start + (1 - start) * min(1, step / steps) (Bowman et al. 2016 Sec. 3.1; Chen et al. 2018's
    warm-up with start 0). cyclic: the same ramp over the first `ramp * steps` steps of each period of
    `steps` steps, then 1 until the period ends (Fu et al. 2019 Eq. 6).
    """
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}")
    if schedule is None:
        return 1.0
    if schedule.kind == "linear":
        progress = step / schedule.steps
    else:
        assert schedule.ramp is not None  # set by BetaSchedule for a cyclic schedule
        progress = (step % schedule.steps) / (schedule.ramp * schedule.steps)
    return schedule.start + (1.0 - schedule.start) * min(1.0, progress)


def scheduled_terms(config: ObjectiveConfig, step: int, weight: Tensor) -> dict[str, Tensor]:
    """The logged beta factor, `{"beta_factor": ...}`, when `config` schedules its beta; else nothing."""
    schedule = getattr(config, "beta_schedule", None)
    if schedule is None:
        return {}
    return {"beta_factor": torch.tensor(beta_factor(schedule, step), dtype=weight.dtype, device=weight.device)}


class CapacityObjective(Objective[CapacityConfig]):
    """recon + gamma * |KL - C(step)|: Burgess et al. 2018 Eq. 8 (the "beta-VAE B" of their Sec. 5)."""

    configs = (CapacityConfig,)

    def forward(
        self, model: VAE, x: Tensor, step: int, x_aux: Tensor | None = None, generator: torch.Generator | None = None
    ) -> dict[str, Tensor]:
        out = model(x, generator=generator)
        recon = reconstruction_loss(model, out, x)
        kl, kl_per_latent = gaussian_kl_terms(out.mu, out.logvar)
        c = capacity(step, self.config.capacity_max, self.config.capacity_steps)
        total = recon + self.config.gamma * (kl - c).abs()
        return {
            "total": total,
            "reconstruction": recon,
            "kl": kl,
            "kl_per_latent": kl_per_latent,
            "capacity": torch.tensor(c, dtype=kl.dtype, device=kl.device),
        }


class BetaTCVAEObjective(Objective[BetaTCVAEConfig]):
    """recon + alpha * MI + beta * TC + gamma * dimension-wise KL: Chen et al. 2018 Eq. 4 with the
    decomposition of their Eq. 2, log q(z) estimated by MSS or MWS over the minibatch (see
    `betavae.models.total_correlation`). "kl" is the closed-form KL, reported for comparison."""

    configs = (BetaTCVAEConfig,)

    def __init__(self, config: BetaTCVAEConfig, dataset_size: int) -> None:
        super().__init__(config)
        self.dataset_size = dataset_size

    @classmethod
    def build(cls, config: BetaTCVAEConfig, *, latent_dim: int, dataset_size: int) -> BetaTCVAEObjective:
        return cls(config, dataset_size)

    def forward(
        self, model: VAE, x: Tensor, step: int, x_aux: Tensor | None = None, generator: torch.Generator | None = None
    ) -> dict[str, Tensor]:
        out = model(x, generator=generator)
        recon = reconstruction_loss(model, out, x)
        kl, kl_per_latent = gaussian_kl_terms(out.mu, out.logvar)
        terms = kl_decomposition(out.z, out.mu, out.logvar, self.dataset_size, self.config.tc_estimator)
        c = self.config
        beta = c.beta * beta_factor(c.beta_schedule, step)
        total = recon + c.alpha * terms["mi"] + beta * terms["tc"] + c.gamma * terms["dwkl"]
        return {
            "total": total,
            "reconstruction": recon,
            "kl": kl,
            "kl_per_latent": kl_per_latent,
            **terms,
            **scheduled_terms(c, step, kl),
        }


class DIPVAEObjective(Objective[DIPVAEConfig]):
    """recon + KL + lambda_od * sum_{i != j} C_ij^2 + lambda_d * sum_i (C_ii - 1)^2: DIP-VAE (Kumar et al.
    2018 Eq. 6 for `dip_type: i`, Eq. 7 for `ii`), C estimated on the batch (`dip_covariance`)."""

    configs = (DIPVAEConfig,)

    def forward(
        self, model: VAE, x: Tensor, step: int, x_aux: Tensor | None = None, generator: torch.Generator | None = None
    ) -> dict[str, Tensor]:
        out = model(x, generator=generator)
        recon = reconstruction_loss(model, out, x)
        kl, kl_per_latent = gaussian_kl_terms(out.mu, out.logvar)
        cov = dip_covariance(out.mu, out.logvar, self.config.dip_type)
        diag = torch.diagonal(cov)
        off_diagonal = cov.pow(2).sum() - diag.pow(2).sum()
        diagonal = (diag - 1.0).pow(2).sum()
        total = recon + kl + self.config.lambda_od * off_diagonal + self.config.lambda_d * diagonal
        return {
            "total": total,
            "reconstruction": recon,
            "kl": kl,
            "kl_per_latent": kl_per_latent,
            "dip_off_diagonal": off_diagonal,
            "dip_diagonal": diagonal,
        }


def dip_covariance(mu: Tensor, logvar: Tensor, dip_type: str) -> Tensor:
    """The covariance DIP-VAE matches to the identity, over the batch (d, d): Cov[mu(x)] (type i, Kumar et
    al. 2018 Sec. 3), or Cov_q(z)[z] = E[diag(exp(logvar))] + Cov[mu(x)] (type ii). Batch moments with
    1/B, as disentanglement_lib computes them."""
    centred = mu - mu.mean(0, keepdim=True)
    cov = centred.T @ centred / mu.shape[0]
    if dip_type == "ii":
        cov = cov + torch.diag(torch.exp(logvar).mean(0))
    return cov


class ISAVAEObjective(Objective[ISAVAEConfig]):
    """recon + beta * KL(q(z|x) || p_ISA(z)), the KL estimated by Monte Carlo at the reparameterised sample,
    log q(z|x) - log p(z) (Stuhmer et al. 2020 Eq. 12); beta = 1 is the ISA-VAE, beta > 1 the beta-ISA-VAE.

    "kl" is that Monte Carlo estimate. The ISA prior does not factorise over latents, so "kl_per_latent"
    is each latent's closed-form KL to N(0, 1), kept as a diagnostic of which latents are in use. With
    learned exponents, "isa_p0" and "isa_p" (mean over subspaces) are reported as well.
    """

    configs = (ISAVAEConfig,)

    def __init__(self, config: ISAVAEConfig, latent_dim: int) -> None:
        super().__init__(config)
        self.prior = isa_prior(config, latent_dim)

    @classmethod
    def build(cls, config: ISAVAEConfig, *, latent_dim: int, dataset_size: int) -> ISAVAEObjective:
        _check_layout(config.isa_layout, latent_dim)
        return cls(config, latent_dim)

    def model_parameters(self) -> list[nn.Parameter]:
        return list(self.prior.parameters())

    def forward(
        self, model: VAE, x: Tensor, step: int, x_aux: Tensor | None = None, generator: torch.Generator | None = None
    ) -> dict[str, Tensor]:
        out = model(x, generator=generator)
        recon = reconstruction_loss(model, out, x)
        _, kl_per_latent = gaussian_kl_terms(out.mu, out.logvar)
        log_qzx = log_normal_diag(out.z, out.mu, out.logvar).sum(1)  # (B,)
        kl = (log_qzx - self.prior.log_prob(out.z)).mean()
        terms = {
            "total": recon + self.config.beta * beta_factor(self.config.beta_schedule, step) * kl,
            "reconstruction": recon,
            "kl": kl,
            "kl_per_latent": kl_per_latent,
            **scheduled_terms(self.config, step, kl),
        }
        return terms | exponent_terms(self.prior, self.config.isa_learn_exponents)


def isa_prior(config: ISAVAEConfig | ISATCVAEConfig, latent_dim: int) -> LpNestedISA:
    """The L^p-nested ISA prior of `config`; no `isa_layout` puts every latent in its own subspace."""
    layout = config.isa_layout if config.isa_layout is not None else (1,) * latent_dim
    return LpNestedISA(layout, config.isa_p0, config.isa_p, config.isa_learn_exponents)


def exponent_terms(prior: LpNestedISA, learned: bool) -> dict[str, Tensor]:
    """With learned exponents, the logged `isa_p0` and `isa_p` (mean over subspaces); else nothing."""
    return {"isa_p0": prior.p0.detach(), "isa_p": prior.p.detach().mean()} if learned else {}


class ISATCVAEObjective(Objective[ISATCVAEConfig]):
    """recon + alpha * MI + beta * TC + gamma * E[sum_k log q(z_k) - log p_ISA(z)]: the beta-TCVAE terms
    (`kl_decomposition`) with the L^p-nested ISA prior in place of N(0, I) (Stuhmer et al. 2020, ISA-TCVAE).
    With alpha = beta = gamma = 1 it is the ISA-VAE's Monte Carlo KL (their Eq. 12) on the same sample."""

    configs = (ISATCVAEConfig,)

    def __init__(self, config: ISATCVAEConfig, latent_dim: int, dataset_size: int) -> None:
        super().__init__(config)
        self.prior = isa_prior(config, latent_dim)
        self.dataset_size = dataset_size

    @classmethod
    def build(cls, config: ISATCVAEConfig, *, latent_dim: int, dataset_size: int) -> ISATCVAEObjective:
        _check_layout(config.isa_layout, latent_dim)
        return cls(config, latent_dim, dataset_size)

    def model_parameters(self) -> list[nn.Parameter]:
        return list(self.prior.parameters())

    def forward(
        self, model: VAE, x: Tensor, step: int, x_aux: Tensor | None = None, generator: torch.Generator | None = None
    ) -> dict[str, Tensor]:
        out = model(x, generator=generator)
        recon = reconstruction_loss(model, out, x)
        _, kl_per_latent = gaussian_kl_terms(out.mu, out.logvar)
        c = self.config
        terms = kl_decomposition(out.z, out.mu, out.logvar, self.dataset_size, c.tc_estimator, self.prior.log_prob)
        beta = c.beta * beta_factor(c.beta_schedule, step)
        total = recon + c.alpha * terms["mi"] + beta * terms["tc"] + c.gamma * terms["dwkl"]
        kl = terms["mi"] + terms["tc"] + terms["dwkl"]  # the Monte Carlo KL to the ISA prior
        return {
            "total": total,
            "reconstruction": recon,
            "kl": kl,
            "kl_per_latent": kl_per_latent,
            **terms,
            **scheduled_terms(c, step, kl),
            **exponent_terms(self.prior, c.isa_learn_exponents),
        }


def _check_layout(layout: tuple[int, ...] | None, latent_dim: int) -> None:
    """`train.isa_layout` must cover the latents exactly."""
    if layout is not None and sum(layout) != latent_dim:
        raise ConfigError(
            f"train.isa_layout must sum to model.latent_dim = {latent_dim}, got {list(layout)} (sum {sum(layout)})"
        )
