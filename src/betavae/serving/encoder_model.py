"""MLflow pyfunc model (logged as code, not pickled): uint8 images (n, H, W, C) -> latent means (n, d).

MLflow loads this file when the model is pulled or served; the weights come from the run's checkpoint
artifact, read with `torch.load(weights_only=True)`.
"""

from __future__ import annotations

from typing import Any

import mlflow
from mlflow.pyfunc import PythonModel


class LatentMeanEncoder(PythonModel):
    """Encodes images to the posterior means mu(x) of a trained beta-VAE."""

    def load_context(self, context: Any) -> None:
        from betavae.training.checkpoint import load_checkpoint, model_from_checkpoint

        path = context.artifacts["checkpoint"]
        self.model, self.run = model_from_checkpoint(path)
        self.max_pixel_value = int(load_checkpoint(path).get("max_pixel_value", 1))

    def predict(self, context, model_input, params=None):  # untyped: MLflow infers the schema from the example
        from mlflow.exceptions import INVALID_PARAMETER_VALUE, MlflowException

        from betavae.errors import DataError
        from betavae.evaluation.inference import encode_means
        from betavae.serving.images import check_images

        try:
            images = check_images(model_input, tuple(self.model.observation_shape), self.max_pixel_value)
        except DataError as exc:  # a served request gets HTTP 400 with this message
            raise MlflowException(str(exc), error_code=INVALID_PARAMETER_VALUE) from None
        return encode_means(self.model, images, self.max_pixel_value)


mlflow.models.set_model(LatentMeanEncoder())
