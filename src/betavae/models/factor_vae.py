"""FactorVAE (Kim & Mnih 2018): a discriminator estimates the total correlation by the density-ratio trick."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call

from betavae.config.objectives import FactorVAEConfig
from betavae.models.gaussian import reparameterise
from betavae.models.objectives import Objective, gaussian_kl_terms, reconstruction_loss
from betavae.models.vae import VAE


class Discriminator(nn.Module):
    """MLP classifying codes as drawn from q(z) (class 0) or from prod_k q(z_k) (class 1).

    Kim & Mnih 2018 Appendix: 6 hidden layers of 1000 units with LeakyReLU(0.2), 2 output logits.
    """

    def __init__(self, latent_dim: int, hidden: int = 1000, layers: int = 6) -> None:
        super().__init__()
        mods: list[nn.Module] = []
        width = latent_dim
        for _ in range(layers):
            mods += [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]
            width = hidden
        mods.append(nn.Linear(width, 2))
        self.net = nn.Sequential(*mods)

    def forward(self, z: Tensor) -> Tensor:
        """z: (B, d) -> logits (B, 2)."""
        return self.net(z)


def permute_dims(z: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Shuffle each latent dimension independently across the batch (Kim & Mnih 2018 Algorithm 1),
    turning samples of q(z) into samples of prod_k q(z_k). z: (B, d) -> (B, d)."""
    b, d = z.shape
    keys = torch.rand((b, d), generator=generator, device=z.device)
    perm = torch.argsort(keys, dim=0)  # an independent permutation per column
    return torch.gather(z, 0, perm)


class FactorVAEObjective(Objective[FactorVAEConfig]):
    """recon + KL + gamma * TC, TC ~ E[log D(z) / (1 - D(z))] = E[logit_0 - logit_1]: Kim & Mnih 2018 Eq. 2.

    "discriminator_total" is the cross-entropy of Kim & Mnih 2018 Algorithm 2: 0.5 * (CE(D(z), 0) +
    CE(D(permute_dims(z')), 1)) with z from x and z' from the second batch x_aux, both detached from the
    model. The discriminator enters "total" through detached copies of its parameters, so backpropagating
    "total" leaves the discriminator's gradients untouched and "discriminator_total" never reaches the
    model: the two losses can be backpropagated one after the other and both optimisers stepped after.
    """

    needs_aux_batch = True
    configs = (FactorVAEConfig,)

    def __init__(self, config: FactorVAEConfig, latent_dim: int, discriminator: nn.Module | None = None) -> None:
        super().__init__(config)
        self.discriminator = discriminator if discriminator is not None else Discriminator(latent_dim)

    @classmethod
    def build(cls, config: FactorVAEConfig, *, latent_dim: int, dataset_size: int) -> FactorVAEObjective:
        return cls(config, latent_dim)

    def discriminator_parameters(self) -> list[nn.Parameter]:
        return list(self.discriminator.parameters())

    def _frozen_discriminator(self, z: Tensor) -> Tensor:
        params = {name: p.detach() for name, p in self.discriminator.named_parameters()}
        return functional_call(self.discriminator, params, (z,))

    def forward(
        self, model: VAE, x: Tensor, step: int, x_aux: Tensor | None = None, generator: torch.Generator | None = None
    ) -> dict[str, Tensor]:
        if x_aux is None:
            raise ValueError("factor_vae needs a second batch x_aux for the permuted codes; got None")
        out = model(x, generator=generator)
        recon = reconstruction_loss(model, out, x)
        kl, kl_per_latent = gaussian_kl_terms(out.mu, out.logvar)
        logits = self._frozen_discriminator(out.z)  # (B, 2), gradients reach z only
        tc = (logits[:, 0] - logits[:, 1]).mean()
        total = recon + kl + self.config.gamma * tc

        with torch.no_grad():
            mu_aux, logvar_aux = model.encode(x_aux)
            z_perm = permute_dims(reparameterise(mu_aux, logvar_aux, generator), generator)
        d_joint = self.discriminator(out.z.detach())  # (B, 2)
        d_perm = self.discriminator(z_perm)  # (B', 2)
        zeros = torch.zeros(d_joint.shape[0], dtype=torch.long, device=d_joint.device)
        ones = torch.ones(d_perm.shape[0], dtype=torch.long, device=d_perm.device)
        disc_total = 0.5 * (F.cross_entropy(d_joint, zeros) + F.cross_entropy(d_perm, ones))
        with torch.no_grad():
            accuracy = 0.5 * ((d_joint.argmax(1) == 0).float().mean() + (d_perm.argmax(1) == 1).float().mean())
        return {
            "total": total,
            "reconstruction": recon,
            "kl": kl,
            "kl_per_latent": kl_per_latent,
            "tc": tc,
            "discriminator_total": disc_total,
            "discriminator_accuracy": accuracy,
        }
