"""The MLflow model a run logs: the pyfunc package of :mod:`betavae.serving.betavae_model` (encode, decode,
reconstruct), logged as code plus the run's weights-only checkpoint (nothing pickled, no optimiser state)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

MODEL_ARTIFACT = "model"
PACKAGE_DIR = Path(__file__).resolve().parent.parent
MODEL_FILE = PACKAGE_DIR / "serving" / "betavae_model.py"


def model_signature() -> Any:
    """The package's signature: a `method` parameter (encode | decode | reconstruct).

    Encode takes uint8 images (n, H, W, C) and decode float latents (n, d): one tensor schema cannot
    describe both, so the shapes are written into the model's metadata and checked by the model itself.
    """
    from mlflow.models import ModelSignature
    from mlflow.types import ParamSchema, ParamSpec

    return ModelSignature(params=ParamSchema([ParamSpec("method", "string", "encode")]))


#: The distributions the package's code imports when it loads (torch and numpy for the model, mlflow for
#: pyfunc, the rest through `betavae`'s own imports).
REQUIREMENTS = ("torch", "numpy", "pandas", "pyarrow", "pyyaml", "tqdm", "mlflow")


def pinned_requirements() -> list[str]:
    """`name==version` for each of :data:`REQUIREMENTS` as installed here, the versions that trained the
    model, so `mlflow models build-docker` or `--env-manager virtualenv` rebuild that environment and not
    whatever is newest. A local build tag (`2.13.0+cpu`) is dropped: the index decides the build."""
    from importlib.metadata import version

    return [f"{name}=={version(name).split('+')[0]}" for name in REQUIREMENTS]


def log_model_package(run_id: str, weights: Path, example: np.ndarray, latent_dim: int) -> str:
    """Log the pyfunc package (code + inference-only weights) to `run_id`; returns its model URI."""
    import mlflow

    shape = ", ".join(str(int(s)) for s in example.shape[1:])
    with mlflow.start_run(run_id=run_id), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*type hint.*", category=UserWarning)
        info = mlflow.pyfunc.log_model(
            name=MODEL_ARTIFACT,
            python_model=str(MODEL_FILE),
            artifacts={"weights": str(weights)},
            code_paths=[str(PACKAGE_DIR)],
            signature=model_signature(),
            input_example=(example, {"method": "encode"}),
            metadata={
                "encode_input": f"uint8 images (n, {shape})",
                "encode_output": f"float32 latent means (n, {latent_dim})",
                "decode_input": f"float32 latents (n, {latent_dim})",
                "decode_output": f"uint8 images (n, {shape})",
            },
            pip_requirements=pinned_requirements(),
        )
    return info.model_uri
