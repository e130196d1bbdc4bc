"""Disentanglement metrics on ground-truth data, one module per metric.

Each metric module offers ``compute(data, representation, rng, **params) -> dict[str, float]``, which
draws its own sample of factors, and, where the score is a function of one fixed sample,
``from_codes(codes, factors, ...)``, the pure maths. A metric's settings (`Params`) are plain data in
:mod:`betavae.config.metrics`, so `params.yaml: evaluate` is checked without importing this package.
Shared parts: :mod:`~betavae.metrics.settings` (the metric protocol: `describe`, `num_draws`),
:mod:`~betavae.metrics.sampling` (fixed-factor batches of the BetaVAE and FactorVAE scores),
:mod:`~betavae.metrics.z_diff` (the BetaVAE score's points and classifier), :mod:`~betavae.metrics.cache`
(each grid image encoded once), :mod:`~betavae.metrics.utils` (discrete information measures, input
checks) and :mod:`~betavae.metrics.suite` (several metrics on one representation). Reconstruction
measures, the A.4 protocol and the table live in :mod:`betavae.evaluation`.
"""
