"""MLflow pyfunc model (logged as code, not pickled): uint8 images (n, H, W, C) -> latent means (n, d).

MLflow loads this file when the model is pulled or served; the weights come from the run's checkpoint
artifact, read with `torch.load(weights_only=True)`.
"""

from __future__ import annotations

from typing import Any

import mlflow
import numpy as np
from mlflow.pyfunc import PythonModel


class LatentMeanEncoder(PythonModel):
    """Encodes images to the posterior means mu(x) of a trained beta-VAE."""

    def load_context(self, context: Any) -> None:
        from betavae.training.checkpoint import load_checkpoint, model_from_checkpoint

        path = context.artifacts["checkpoint"]
        self.model, self.run = model_from_checkpoint(path)
        self.max_pixel_value = int(load_checkpoint(path).get("max_pixel_value", 1))

    def predict(self, context, model_input, params=None):  # untyped: MLflow infers the schema from the example
        from betavae.evaluation.inference import encode_means

        images = np.asarray(model_input)
        expected = tuple(self.model.observation_shape)
        if images.shape[1:] != expected:
            raise ValueError(f"expected images of shape (n, {', '.join(map(str, expected))}), got {images.shape}")
        if images.dtype != np.uint8:
            if images.min() < 0 or images.max() > self.max_pixel_value:
                raise ValueError(f"pixel values must lie in [0, {self.max_pixel_value}]")
            images = images.astype(np.uint8)
        return encode_means(self.model, images, self.max_pixel_value)


mlflow.models.set_model(LatentMeanEncoder())
