"""Disentanglement metrics on ground-truth data, one module per metric.

Each metric module offers ``compute(data, representation, rng, **params) -> dict[str, float]``, which
draws its own sample of factors, and, where the score is a function of one fixed sample,
``from_codes(codes, factors, ...)``, the pure maths. :mod:`betavae.metrics.suite` runs several metrics
on one representation with a shared code cache; :mod:`betavae.evaluation.reconstruction` measures a model's
reconstructions and posterior; :mod:`betavae.evaluation.protocol` and :mod:`betavae.evaluation.table` turn
repeated scores into the table of Higgins et al. (2017), Fig. 5.
"""
