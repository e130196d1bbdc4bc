"""Disentanglement metrics on ground-truth data, one module per metric.

Each metric module offers ``compute(data, representation, rng, **params) -> dict[str, float]``, which
draws its own sample of factors, and, where the score is a function of one fixed sample,
``from_codes(codes, factors, ...)``, the pure maths. Shared parts: :mod:`~betavae.metrics.settings`
(the metric protocol: settings validated once, `describe`, `num_draws`), :mod:`~betavae.metrics.sampling`
(fixed-factor batches of the BetaVAE and FactorVAE scores), :mod:`~betavae.metrics.cache` (each grid
image encoded once), :mod:`~betavae.metrics.utils` (discrete information measures, input checks) and
:mod:`~betavae.metrics.suite` (several metrics on one representation). Reconstruction measures, the
A.4 protocol and the table live in :mod:`betavae.evaluation`.
"""
