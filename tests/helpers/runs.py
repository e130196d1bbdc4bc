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


class LabelledImages(InMemoryImages):
    """In-memory images with one factor, `label` (classes 0..classes-1 in turn): what a conditional model
    (`model.condition_on: label`) trains on."""

    def __init__(self, images: np.ndarray, classes: int) -> None:
        super().__init__(images)
        self.labels = np.arange(len(images)) % classes
        self.factor_names = ("label",)
        self.factor_sizes = (classes,)
        self.num_images = len(images)

    def index_to_classes(self, index: np.ndarray) -> np.ndarray:
        return self.labels[np.asarray(index)][:, None]


def register_tiny_model(root, conditional: bool = False) -> None:
    """Train a tiny model (28x28 binary images, 4 latents, 4 steps) into `root`'s tracking store and
    register it as `betavae-tiny@champion`; `conditional`: a conditional VAE on a 3-class `label`."""
    from betavae.config import build_run_config
    from betavae.tracking.client import client_for, ensure_experiment, start_run
    from betavae.tracking.promotion import register_run
    from betavae.tracking.runs import train_and_track

    client = client_for(root)
    experiment = ensure_experiment(client, "betavae-tiny", root)
    parent = start_run(client, experiment, "sweep")
    params = tiny_params(steps=4, checkpoint_every=4)
    data = InMemoryImages(random_binary_images(64, 28))
    if conditional:
        params["model"]["condition_on"] = "label"
        data = LabelledImages(data.images, classes=3)
    run = build_run_config(params, "tiny")
    record = train_and_track(
        run,
        data,
        root=root,
        client=client,
        experiment_id=experiment,
        parent_id=parent.run_id,
        progress=False,
    )
    parent.finish()
    register_run(
        client,
        run_id=record.run_id,
        model_source=record.model_uri,
        dataset="tiny",
        metric="m",
        mode="max",
        value=1.0,
        scores={"m": 1.0},
    )
