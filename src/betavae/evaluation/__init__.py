"""Scoring trained runs and comparing them with baselines.

- :mod:`~betavae.evaluation.inference`: a model's representation (images -> latent means).
- :mod:`~betavae.evaluation.scoring`: every metric of the evaluate profile for one checkpoint.
- :mod:`~betavae.evaluation.reconstruction`: reconstruction log-likelihood, ELBO, KL per latent.
- :mod:`~betavae.evaluation.baselines`: ground truth, raw pixels, PCA, ICA as representations.
- :mod:`~betavae.evaluation.protocol`: Higgins et al. 2017 Appendix A.4 pooling over replicas and seeds.
- :mod:`~betavae.evaluation.sweep_table` and :mod:`~betavae.evaluation.table`: the Fig. 5 (left) table.
"""
