"""Load a model package with the code installed on this machine, never with the code inside the package.

A package (`betavae pull`, or a registered version) is an MLflow pyfunc folder: `MLmodel`, the model's
code, the bundled `betavae` sources, the inference-only weights and `betavae_manifest.json`. MLflow's own
`mlflow.pyfunc.load_model` would import the bundled code, so whoever can write a model version could run
code on every machine that loads the champion. Here only data is read from the folder: the manifest is
checked (the `betavae` version that wrote it, and the SHA-256 of the weights), the weights are loaded by
the installed :class:`~betavae.serving.betavae_model.BetaVAEModel` (`torch.load(weights_only=True)`), and
the result is wrapped as MLflow's `PyFuncModel`, so `predict` and the scoring server behave as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from betavae.tracking.model_package import check_manifest

#: How `betavae serve` hands the package folder and the version choice to :mod:`betavae.serving.scoring_app`.
MODEL_ENV = "BETAVAE_SERVE_PACKAGE"
ALLOW_OTHER_VERSION_ENV = "BETAVAE_SERVE_ALLOW_OTHER_VERSION"


@dataclass(frozen=True)
class _Context:
    """What `BetaVAEModel.load_context` reads of MLflow's context: the artifacts' local paths."""

    artifacts: dict[str, str]
    model_config: dict[str, Any]


class _Impl:
    """The `model_impl` MLflow's `PyFuncModel` calls: `predict(data, params)` on the installed model."""

    def __init__(self, python_model: Any) -> None:
        self.python_model = python_model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return self.python_model.predict(None, data, params)


def load_package(folder: Path, allow_other_version: bool = False) -> Any:
    """The package in `folder` as MLflow's `PyFuncModel`, built from installed code (see the module doc)."""
    from mlflow.models import Model
    from mlflow.pyfunc import PyFuncModel

    from betavae.serving.betavae_model import BetaVAEModel

    weights = check_manifest(folder, allow_other_version)
    python_model = BetaVAEModel()
    python_model.load_context(_Context(artifacts={"weights": str(weights)}, model_config={}))
    return PyFuncModel(model_meta=Model.load(str(Path(folder) / "MLmodel")), model_impl=_Impl(python_model))
