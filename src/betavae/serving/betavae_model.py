"""MLflow pyfunc model of a trained beta-VAE (logged as code, never pickled).

    predict(images)                                  uint8 images (n, H, W, C) -> latent means (n, d)
    predict(latents, params={"method": "decode"})    latents (n, d) -> uint8 images (n, H, W, C)
    predict(images, params={"method": "reconstruct"}) images -> decode(encode(images))

A conditional model (`model.condition_on`) takes the class of the request's images as well,
`params={"condition": k}` with any method (Singh 2018 Sec. 4.2: decode latents "as the character k");
a request without one is refused, as is a class given to an unconditional model.

The latent means are mu(x) of the Gaussian posterior q(z|x) (Kingma & Welling 2014; Higgins et al. 2017,
Eq. 4); decoding returns the mean of p(x|z) in the training data's pixel range, rounded to uint8. MLflow
loads this file when the model is pulled or served; weights come from the package's `weights` artifact,
read with `torch.load(weights_only=True)`.
"""

from __future__ import annotations

import warnings
from typing import Any

import mlflow
import numpy as np
from mlflow.pyfunc import PythonModel

METHODS = ("encode", "decode", "reconstruct")


class RequestError(mlflow.exceptions.MlflowException):
    """A refused request (HTTP 400) whose message stays the one line written here.

    MLflow's scoring server rewrites the message of any MlflowException raised by `predict` to
    `Failed to predict data '<the whole request array>'. Error: ...`, a screen of numbers for one wrong
    shape; this class keeps the first message it was given.
    """

    @property
    def message(self) -> str:
        return self._first_message

    @message.setter
    def message(self, value: str) -> None:
        if not hasattr(self, "_first_message"):
            self._first_message = value


with warnings.catch_warnings():
    # `predict` is untyped on purpose (the signature is given when logging): MLflow's advice about type
    # hints, issued each time this class is created (on every load, under MLflow's own "once" filter, so
    # filters cannot silence it), would reach users of `betavae encode`; it is not shown.
    warnings.showwarning = lambda *args, **kwargs: None

    class BetaVAEModel(PythonModel):
        """Encoder and decoder of one trained beta-VAE, chosen per call by `params["method"]`."""

        def load_context(self, context: Any) -> None:
            from betavae.training.checkpoint import (
                load_checkpoint,
                model_from_checkpoint,
            )

            path = context.artifacts.get("weights") or context.artifacts["checkpoint"]
            self.model, self.run = model_from_checkpoint(path)
            self.max_pixel_value = int(load_checkpoint(path).get("max_pixel_value", 1))

        def predict(self, context, model_input, params=None):  # untyped: the signature is set when logged
            from mlflow.exceptions import INVALID_PARAMETER_VALUE

            from betavae.errors import DataError
            from betavae.evaluation.inference import decode_images, encode_means
            from betavae.serving.images import check_images

            method = (params or {}).get("method", "encode")
            try:
                if method not in METHODS:
                    raise DataError(f"params.method must be one of {', '.join(METHODS)}, got {method!r}")
                model = self._given((params or {}).get("condition"))
                if method == "decode":
                    return decode_images(model, self._latents(model_input), self.max_pixel_value)
                images = check_images(model_input, tuple(self.model.observation_shape), self.max_pixel_value)
            except DataError as exc:  # a served request gets HTTP 400 with this message
                raise RequestError(str(exc), error_code=INVALID_PARAMETER_VALUE) from None
            means = encode_means(model, images, self.max_pixel_value)
            return means if method == "encode" else decode_images(model, means, self.max_pixel_value)

        def _given(self, condition: Any) -> Any:
            """The model to answer with: a conditional one given the request's class, else the model."""
            from betavae.errors import DataError
            from betavae.tracking.model_package import NO_CONDITION

            if condition is None or condition == NO_CONDITION:
                if self.model.conditional:
                    raise DataError(
                        f"this model is a conditional VAE on {self.model.config.condition_on!r}: pass "
                        f"params.condition, a class in 0..{self.model.condition_classes - 1}"
                    )
                return self.model
            if not self.model.conditional:
                raise DataError(f"params.condition {condition!r}: this model is not conditional; pass none")
            if isinstance(condition, bool) or not isinstance(condition, (int, np.integer)):
                raise DataError(f"params.condition must be an integer class, got {condition!r}")
            if not 0 <= int(condition) < self.model.condition_classes:
                raise DataError(
                    f"params.condition {int(condition)}: classes of {self.model.config.condition_on!r} are "
                    f"0..{self.model.condition_classes - 1}"
                )
            return self.model.given(int(condition))

        def _latents(self, model_input: Any) -> np.ndarray:
            from betavae.errors import DataError

            latents = np.asarray(model_input)
            d = self.model.config.latent_dim
            if (
                latents.ndim != 2
                or latents.shape[1] != d
                or latents.dtype.kind not in "uif"
                or not np.isfinite(latents).all()
            ):
                raise DataError(
                    f"latents: expected finite numbers of shape (n, {d}), got {latents.dtype} {latents.shape}"
                )
            return latents.astype(np.float32)


mlflow.models.set_model(BetaVAEModel())
