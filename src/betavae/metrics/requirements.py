"""What each score needs from a dataset, and which estimator made it.

The disentanglement metrics (BetaVAE, FactorVAE, MIG, DCI, SAP, modularity) compare a code with the
dataset's ground-truth generative factors, so they need at least two of them. MNIST's digit label,
CelebA's attributes or a user's own images are no such factors: on those datasets the metrics are
skipped, the reason is recorded beside the scores, and the measures that need no factors
(reconstruction, ELBO, KL per latent, active latents, UDR) still run.

:func:`estimators` names the estimator behind each metric's numbers (e.g. ``dci.estimator = gbt``),
so a score is never quoted without the method that produced it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["MIN_FACTORS", "estimators", "missing_factors"]

MIN_FACTORS = 2


def missing_factors(data: object) -> str | None:
    """None if `data` has the ground-truth factors the disentanglement metrics need, else why not."""
    names = tuple(getattr(data, "factor_names", ()) or ())
    name = getattr(data, "name", type(data).__name__)
    if len(names) >= MIN_FACTORS:
        return None
    held = f"only {list(names)}" if names else "none"
    return (
        f"dataset {name!r} has no ground-truth factors of variation ({held}); the disentanglement "
        f"metrics need at least {MIN_FACTORS}"
    )


def estimators(metric_params: Mapping[str, Mapping[str, Any] | None]) -> dict[str, str]:
    """`estimator.<metric>` -> the estimator and protocol each metric of `metric_params` uses."""
    from betavae.metrics import suite

    described = suite.describe(metric_params)
    out: dict[str, str] = {}
    for name, settings in described.items():
        if name == "dci":
            what = {
                "gbt": "gbt (scikit-learn GradientBoostingClassifier, impurity importances; reference)",
                "hist_gbt": "hist_gbt (scikit-learn HistGradientBoostingClassifier, split-gain importances)",
            }
            out[f"estimator.{name}"] = what[settings["estimator"]]
        elif name == "beta_vae":
            proto = settings.get("protocol", "locatello2019")
            clf = settings.get("classifier", "logistic_regression")
            out[f"estimator.{name}"] = f"protocol {proto}, classifier {clf}"
        elif name == "factor_vae":
            out[f"estimator.{name}"] = "majority-vote classifier (Kim & Mnih 2018)"
        elif name == "sap":
            out[f"estimator.{name}"] = f"scikit-learn LinearSVC per latent and factor, C = {settings.get('C')}"
        elif name == "mig":
            out[f"estimator.{name}"] = f"histogram mutual information, {settings.get('num_bins')} bins"
        elif name == "modularity":
            out[f"estimator.{name}"] = f"histogram mutual information, {settings.get('num_bins')} bins"
    return out
