"""MLflow pyfunc model of a trained beta-VAE (logged as code, never pickled).

    predict(images)                                  uint8 images (n, H, W, C) -> latent means (n, d)
    predict(latents, params={"method": "decode"})    latents (n, d) -> uint8 images (n, H, W, C)
    predict(images, params={"method": "reconstruct"}) images -> decode(encode(images))

The latent means are mu(x) of the Gaussian posterior q(z|x) (Kingma & Welling 2014; Higgins et al. 2017,
Eq. 4); decoding returns the mean of p(x|z) in the training data's pixel range, rounded to uint8. MLflow
loads this file when the model is pulled or served; weights come from the package's `weights` artifact,
read with `torch.load(weights_only=True)`.
"""

from __future__ import annotations

from typing import Any

import mlflow
import numpy as np
from mlflow.pyfunc import PythonModel

METHODS = ("encode", "decode", "reconstruct")


class BetaVAEModel(PythonModel):
    """Encoder and decoder of one trained beta-VAE, chosen per call by `params["method"]`."""

    def load_context(self, context: Any) -> None:
        from betavae.training.checkpoint import load_checkpoint, model_from_checkpoint

        path = context.artifacts.get("weights") or context.artifacts["checkpoint"]
        self.model, self.run = model_from_checkpoint(path)
        self.max_pixel_value = int(load_checkpoint(path).get("max_pixel_value", 1))

    def _images(self, model_input: Any) -> np.ndarray:
        images = np.asarray(model_input)
        expected = tuple(self.model.observation_shape)
        if images.ndim == len(expected) - 1 and expected[-1] == 1:
            images = images[..., None]
        if images.shape[1:] != expected:
            raise ValueError(f"expected images of shape (n, {', '.join(map(str, expected))}), got {images.shape}")
        if images.dtype != np.uint8:
            if not np.issubdtype(images.dtype, np.number) or images.size and (
                    not np.isfinite(images).all() or images.min() < 0 or images.max() > self.max_pixel_value
                    or not np.array_equal(images, np.round(images))):
                raise ValueError(f"pixel values must be integers in [0, {self.max_pixel_value}]")
            images = images.astype(np.uint8)
        elif images.size and images.max() > self.max_pixel_value:
            raise ValueError(f"pixel values must lie in [0, {self.max_pixel_value}] (the training data's range), "
                             f"got a maximum of {images.max()}")
        return images

    def predict(self, context, model_input, params=None):  # untyped: the signature is set when logged
        from betavae.training.inference import decode_images, encode_means

        method = (params or {}).get("method", "encode")
        if method not in METHODS:
            raise ValueError(f"params.method must be one of {', '.join(METHODS)}, got {method!r}")
        if method == "decode":
            return decode_images(self.model, np.asarray(model_input, dtype=np.float32), self.max_pixel_value)
        means = encode_means(self.model, self._images(model_input), self.max_pixel_value)
        if method == "encode":
            return means
        return decode_images(self.model, means, self.max_pixel_value)


mlflow.models.set_model(BetaVAEModel())
