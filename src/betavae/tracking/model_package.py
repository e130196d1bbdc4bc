"""The MLflow model a run logs: the pyfunc encoder of :mod:`betavae.serving.encoder_model`, logged as
code plus the run's weights-only checkpoint (nothing pickled)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

MODEL_ARTIFACT = "model"
PACKAGE_DIR = Path(__file__).resolve().parent.parent
ENCODER_MODEL_FILE = PACKAGE_DIR / "serving" / "encoder_model.py"


def log_encoder_model(run_id: str, checkpoint: Path, example: np.ndarray) -> str:
    """Log the pyfunc encoder (code + checkpoint, nothing pickled) to `run_id`; returns its model URI."""
    import mlflow

    with mlflow.start_run(run_id=run_id), warnings.catch_warnings():
        # The schema comes from the input example; MLflow's type-hint advice does not apply to arrays.
        warnings.filterwarnings("ignore", message=".*type hint.*", category=UserWarning)
        info = mlflow.pyfunc.log_model(
            name=MODEL_ARTIFACT,
            python_model=str(ENCODER_MODEL_FILE),
            artifacts={"checkpoint": str(checkpoint)},
            code_paths=[str(PACKAGE_DIR)],
            input_example=example,
            pip_requirements=["torch", "numpy", "pandas", "pyarrow", "pyyaml", "tqdm", "mlflow"],
        )
    return info.model_uri
