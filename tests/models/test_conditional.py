"""The conditional VAE (`model.condition_on`, Singh 2018 Sec. 4.2): its ELBO against torch.distributions,
the class reaching both networks, training that uses the label, resume, scores, pictures and serving."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch.distributions import Bernoulli, Normal, kl_divergence

from betavae.config import RenderConfig, build_run_config
from betavae.data.ground_truth import FactorGrid, all_grid_classes, condition_labels
from betavae.errors import ConfigError, DataError
from betavae.evaluation import reconstruction
from betavae.evaluation.inference import encode_means, representation_of
from betavae.metrics.cache import GridCodeCache, ObservationEncoder
from betavae.models import ModelConfig, build_model, build_objective, objective_config
from betavae.render.figure import SIZES
from betavae.render.run_pictures import draw_run
from betavae.training.checkpoint import load_checkpoint, model_from_checkpoint
from betavae.training.engine import train
from tests.helpers.runs import tiny_params

CLASSES = 4
COPIES = 16


class LabelledPrototypes(FactorGrid):
    """64 binary 28 x 28 images over factors label (4) and copy (16): every image of a label is that
    label's random prototype, so the label alone tells the image and a latent code need carry nothing."""

    def __init__(self) -> None:
        rng = np.random.default_rng(3)
        self.prototypes = (rng.random((CLASSES, 28, 28, 1)) < 0.3).astype(np.uint8)
        self.classes = all_grid_classes((CLASSES, COPIES))
        self._images = self.prototypes[self.classes[:, 0]]
        self.digest = "prototypes"

    has_factors = True
    factor_names = ("label", "copy")
    factor_sizes = (CLASSES, COPIES)
    factor_values = (np.arange(CLASSES), np.arange(COPIES))
    observation_shape = (28, 28, 1)
    max_pixel_value = 1

    @property
    def images(self) -> np.ndarray:
        return self._images


def _conditional(latent_dim: int = 3) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(ModelConfig("mlp28", latent_dim, condition_on="label"), (28, 28, 1), CLASSES)


def _batch(n: int = 6, seed: int = 0) -> torch.Tensor:
    return (torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed)) < 0.2).float()


def _params(**train: object) -> dict:
    params = tiny_params(**train)
    params["model"]["condition_on"] = "label"
    return params


def test_conditional_objective_is_the_negative_conditional_elbo_from_torch_distributions():
    model = _conditional()
    x, c = _batch(), torch.tensor([0, 1, 2, 3, 0, 1])
    objective = build_objective(objective_config("beta_vae", beta=3.0), 3, 100)
    terms = objective(model, x, step=0, generator=torch.Generator().manual_seed(5), c=c)
    out = model(x, generator=torch.Generator().manual_seed(5), c=c)  # the same z
    log_lik = Bernoulli(logits=out.recon).log_prob(x).flatten(1).sum(1)
    kl = kl_divergence(Normal(out.mu, torch.exp(0.5 * out.logvar)), Normal(0.0, 1.0)).sum(1)
    assert torch.allclose(terms["total"], (3.0 * kl - log_lik).mean(), rtol=1e-5)
    assert torch.allclose(terms["reconstruction"], -log_lik.mean(), rtol=1e-5)


def test_the_class_enters_both_networks_as_a_one_hot_beside_the_inputs():
    """q(z|x, c) is the encoder MLP on [pixels, one_hot(c)] and p(x|z, c) the decoder MLP on [z, one_hot(c)],
    computed here layer by layer from the weights."""
    model = _conditional()
    x, c = _batch(4), torch.tensor([3, 0, 2, 1])
    onehot = F.one_hot(c, CLASSES).float()
    enc = model.encoder
    h = torch.relu(torch.cat([x.flatten(1), onehot], 1) @ enc.first.weight + enc.first.bias)
    for layer in enc.rest:
        h = layer(h)
    mu, logvar = model.encode(x, c)
    assert torch.allclose(mu, h[:, :3], atol=1e-5) and torch.allclose(logvar, h[:, 3:], atol=1e-5)
    z = torch.randn(4, 3, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(model.decode(z, c), model.decoder(torch.cat([z, onehot], 1)))
    other = model.decode(z, (c + 1) % CLASSES)
    assert not torch.allclose(model.decode(z, c), other), "the decoder ignores the class"
    assert torch.equal(model.given(2).decode(z), model.decode(z, torch.full((4,), 2)))


def test_a_missing_foreign_or_impossible_class_is_refused():
    model = _conditional()
    x = _batch(2)
    with pytest.raises(ValueError, match="conditional VAE on 'label': pass each image's class"):
        model.encode(x)
    with pytest.raises(ValueError, match=r"must be in 0\.\.3, got 0\.\.4"):
        model.encode(x, torch.tensor([0, 4]))
    with pytest.raises(ValueError, match="2 integer classes"):
        model.encode(x, torch.tensor([0.0, 1.0]))
    plain = build_model(ModelConfig("mlp28", 3), (28, 28, 1))
    with pytest.raises(ValueError, match="not conditional"):
        plain.encode(x, 1)
    with pytest.raises(ValueError, match="needs condition_classes >= 1"):
        build_model(ModelConfig("mlp28", 3, condition_on="label"), (28, 28, 1))


def test_only_the_elbo_family_trains_a_conditional_model_and_an_unconditional_one_keeps_its_digest():
    with pytest.raises(ConfigError, match=r"model.condition_on 'label'.*ae, vae, beta_vae; got 'beta_tcvae'"):
        build_run_config(_params(objective="beta_tcvae"), "tiny")
    with pytest.raises(ConfigError, match="model.condition_on must be null or the name of a factor"):
        ModelConfig("mlp28", 3, condition_on="")
    plain = build_run_config(tiny_params(), "tiny")
    assert "condition_on" not in plain.to_dict()["model"], "an unconditional run's digest would change"
    assert build_run_config(_params(), "tiny").digest != plain.digest
    with pytest.raises(DataError, match="no factor 'digit' to condition on; its factors: label, copy"):
        condition_labels(LabelledPrototypes(), "digit")


def test_conv_encoder_reads_the_class_as_constant_maps():
    torch.manual_seed(0)
    model = build_model(ModelConfig("conv64", 2, "gaussian", condition_on="label"), (64, 64, 3), 5)
    x = torch.rand(2, 3, 64, 64)
    mu_a, _ = model.encode(x, torch.tensor([0, 0]))
    mu_b, _ = model.encode(x, torch.tensor([4, 4]))
    assert model.encoder.net[0].in_channels == 3 + 5
    assert not torch.allclose(mu_a, mu_b)
    assert model(x, c=torch.tensor([1, 2])).recon.shape == (2, 3, 64, 64)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """beta = 20 on images that the label alone determines: the conditional VAE reconstructs from the label
    with its latents at the prior; the unconditional one at the same beta has only the latents."""
    data = LabelledPrototypes()
    out = tmp_path_factory.mktemp("cvae")
    settings = {"steps": 300, "batch_size": 32, "beta": 20.0, "checkpoint_every": 300, "log_every": 300}
    cvae = train(build_run_config(_params(**settings), "protos"), data, out / "cvae", progress=False)
    vae = train(build_run_config(tiny_params(**settings), "protos"), data, out / "vae", progress=False)
    return data, cvae, vae


def test_a_conditional_vae_reconstructs_from_the_label_where_the_vae_cannot(trained):
    data, cvae, vae = trained
    assert cvae.final_terms["kl"] < 0.5
    assert cvae.final_terms["reconstruction"] < 0.5 * vae.final_terms["reconstruction"]
    model, _ = model_from_checkpoint(cvae.checkpoint)
    assert load_checkpoint(cvae.checkpoint)["condition_classes"] == CLASSES
    with torch.no_grad():  # the prior mean decoded given each label is that label's prototype
        decoded = torch.sigmoid(model.decode(torch.zeros(CLASSES, model.latent_dim), torch.arange(CLASSES))) > 0.5
    truth = torch.from_numpy(data.prototypes).permute(0, 3, 1, 2).bool()
    assert (decoded == truth).float().mean(dim=(1, 2, 3)).min() > 0.95


def test_scores_encode_each_image_with_its_own_class(trained):
    """The grid cache and the observation encoder hand the representation each image's label, so both
    give the codes `encode_means` gives with the labels; the reconstruction score uses them too."""
    data, cvae, _ = trained
    model, _ = model_from_checkpoint(cvae.checkpoint)
    represent = representation_of(model, 1, factor_names=data.factor_names)
    assert represent.condition_factor == 0
    factors = data.sample_factors(40, np.random.default_rng(0))
    expected = encode_means(model, data.sample_observations_from_factors(factors, None), 1, labels=factors[:, 0])
    grid = GridCodeCache(data, represent, batch_size=7).codes(factors)
    observed = ObservationEncoder(data, represent, batch_size=9).codes(factors, np.random.default_rng(1))
    np.testing.assert_allclose(grid, expected, rtol=1e-5, atol=1e-7)  # other batches: float rounding only
    np.testing.assert_allclose(observed, expected, rtol=1e-5, atol=1e-7)
    wrong = encode_means(model, data.sample_observations_from_factors(factors, None), 1, labels=(factors[:, 0] + 1) % 4)
    assert not np.allclose(wrong, expected, rtol=1e-3, atol=1e-5)
    scores = reconstruction.compute(model, data, np.random.default_rng(0), num_samples=64, batch_size=16)
    assert -scores["log_likelihood"] < 0.5 * (-_unconditioned_log_likelihood(model, data))
    with pytest.raises(DataError, match="conditional on 'label', which is not a factor"):
        representation_of(model, 1, factor_names=("copy",))


def _unconditioned_log_likelihood(model, data) -> float:
    """The same model scored with every image given the wrong class: its log-likelihood falls."""
    x = torch.from_numpy(data.images).permute(0, 3, 1, 2).float()
    c = (torch.from_numpy(data.classes[:, 0]) + 1) % CLASSES
    with torch.no_grad():
        mu, _ = model.encode(x, c)
        return float(-model.reconstruction_nll(model.decode(mu, c), x).mean())


def test_a_resumed_conditional_run_ends_at_the_uninterrupted_weights(tmp_path):
    data = LabelledPrototypes()
    run = build_run_config(_params(steps=20, checkpoint_every=10), "protos")
    reference = train(run, data, tmp_path / "reference", progress=False)

    class Stop(Exception):
        pass

    def stop_at_ten(folder, step):
        if step == 10:
            raise Stop

    with pytest.raises(Stop):
        train(run, data, tmp_path / "interrupted", progress=False, on_checkpoint=stop_at_ten)
    resumed = train(run, data, tmp_path / "interrupted", progress=False)
    assert resumed.resumed_from_step == 10
    ref, res = load_checkpoint(reference.checkpoint)["model"], load_checkpoint(resumed.checkpoint)["model"]
    assert all(torch.equal(ref[k], res[k]) for k in ref)


def test_pictures_of_a_conditional_model_show_one_class_and_every_class(trained, tmp_path):
    data, cvae, _ = trained
    settings = RenderConfig(steps=3, seed_images=2, kl_samples=32, seed=1, range="posterior")
    pictures = draw_run(cvae.checkpoint, data, settings, tmp_path, title="cvae")
    assert {"traversal", "reconstructions", "prior_samples", "class_samples"} <= set(pictures.paths)
    with Image.open(pictures.paths["class_samples"]) as img:
        assert img.size == SIZES["class_samples"]
        pixels = np.asarray(img.convert("L"))
    assert pixels.std() > 10, "a blank picture"


def test_served_conditional_model_needs_and_checks_its_class(trained):
    from mlflow.exceptions import MlflowException

    from betavae.serving.betavae_model import BetaVAEModel

    data, cvae, _ = trained
    served = BetaVAEModel()
    served.load_context(SimpleNamespace(artifacts={"weights": str(cvae.checkpoint)}))
    with pytest.raises(MlflowException, match=r"pass params.condition, a class in 0\.\.3"):
        served.predict(None, data.images[:2])
    with pytest.raises(MlflowException, match=r"params.condition 7: classes of 'label' are 0\.\.3"):
        served.predict(None, data.images[:2], params={"condition": 7})
    images = served.predict(None, np.zeros((CLASSES, 4), np.float32), params={"method": "decode", "condition": 2})
    assert (images == data.prototypes[2]).mean() > 0.95
    codes = served.predict(None, data.images[:2], params={"condition": 0})
    np.testing.assert_array_equal(codes, encode_means(served.model, data.images[:2], 1, labels=np.array([0, 0])))
