"""Tiny training inputs shared by the tests: in-memory binary images and a fast run configuration."""

from __future__ import annotations

import numpy as np


class InMemoryImages:
    """The slice of the stored-dataset interface the training engine uses."""

    def __init__(self, images: np.ndarray, max_pixel_value: int = 1, digest: str = "test") -> None:
        self.images = images
        self.max_pixel_value = max_pixel_value
        self.digest = digest


def random_binary_images(n: int, size: int, seed: int = 0, prototypes: int = 8) -> np.ndarray:
    """n binary images drawn from a few random prototypes: learnable, so a working model's loss falls."""
    rng = np.random.default_rng(seed)
    protos = (rng.random((prototypes, size, size, 1)) < 0.2).astype(np.uint8)
    return protos[rng.integers(prototypes, size=n)]


def tiny_params(**train: object) -> dict:
    """params.yaml content for a fast run: the 28x28 MLP with 4 latents (on any dataset: no `data` section)."""
    base_train = {
        "objective": "beta_vae",
        "beta": 4.0,
        "steps": 30,
        "batch_size": 16,
        "optimizer": "adam",
        "lr": 1e-3,
        "seed": 0,
        "device": "cpu",
        "checkpoint_every": 10,
        "log_every": 5,
    }
    base_train.update(train)
    if "beta" not in train and base_train["objective"] != "beta_vae":
        del base_train["beta"]  # each objective takes only its own settings
    return {
        "model": {"architecture": "mlp28", "latent_dim": 4, "likelihood": "bernoulli"},
        "train": base_train,
        "sweep": {"grid": {"train.beta": [1.0, 4.0]}, "seeds": [0]},
    }
