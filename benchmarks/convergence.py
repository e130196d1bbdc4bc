"""Time to disentanglement: images seen and seconds of training until a recipe's models are disentangled.

    python -m benchmarks --sections convergence --recipes default beta16-b256 --seeds 0 1 2 --every 500

Each recipe (a set of ``model``/``train`` overrides on ``params.yaml``) is trained per seed through the
pipeline's own engine (:func:`betavae.training.engine.train`) on dSprites, and every ``--every`` steps the
model is scored in place (:data:`betavae.training.engine.SnapshotCallback`), outside the timed training:

- ``mig``: MIG by disentanglement_lib's estimator (Locatello et al. 2019: 10,000 points drawn from the
  factor grid, latent means discretised into 20 equal-width bins; Chen et al. 2018's own estimator gives
  higher values for the same model), the score the papers' MIG thresholds refer to;
- ``beta_vae``: the BetaVAE score by the protocol of the Fig. 5 table (Higgins et al. 2017 A.4:
  ``evaluate.table.params`` of ``params.yaml``), with one classifier seed per snapshot.

The report gives, per recipe, the curve (median and spread over seeds against images seen) and the first
snapshot at which the median over seeds reaches MIG 0.1, MIG 0.2 and a BetaVAE score of 90 %, as images
seen and as training seconds (the median over seeds of the wall-clock time spent in training steps up to
that snapshot, scoring excluded). Seconds depend on how busy the machine is; images do not.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

THRESHOLDS = (("mig", 0.1), ("mig", 0.2), ("beta_vae", 0.9))
MIG_SETTINGS = {"num_train": 10_000, "num_bins": 20}  # disentanglement_lib's `mig` defaults

# Overrides on params.yaml's `model` and `train` sections (dotted keys, as a sweep grid writes them).
RECIPES: dict[str, dict[str, Any]] = {
    # params.yaml as it stands (its train section at the recipe's image budget).
    "default": {},
    # Chen et al. 2018 (beta-TCVAE on dSprites, their MLP): beta 6, Adam 1e-3, batch 2048, beta warmed up
    # linearly from 0 over 7,000 of 18,000 steps as their released code does for dSprites.
    "chen2018": {
        "model.architecture": "mlp64",
        "train.objective": "beta_tcvae",
        "train.beta": 6.0,
        "train.batch_size": 2048,
        "train.lr": 1e-3,
        "train.beta_schedule": {"kind": "linear", "steps": 7000},
    },
    # beta-TCVAE at the batch the bf16 step runs fastest at on 2 cores.
    "tcvae6-b256": {
        "model.architecture": "mlp64",
        "train.objective": "beta_tcvae",
        "train.beta": 6.0,
        "train.batch_size": 256,
        "train.lr": 1e-3,
    },
    # beta-VAE with a strong bottleneck: fewer active latents, reached within a few million images.
    "beta16-b256": {
        "train.objective": "beta_vae",
        "model.architecture": "mlp64",
        "train.beta": 16.0,
        "train.batch_size": 256,
        "train.lr": 1e-3,
    },
    "beta8-b256": {
        "train.objective": "beta_vae",
        "model.architecture": "mlp64",
        "train.beta": 8.0,
        "train.batch_size": 256,
        "train.lr": 1e-3,
    },
    "beta16-b256-lr3e-3": {
        "train.objective": "beta_vae",
        "model.architecture": "mlp64",
        "train.beta": 16.0,
        "train.batch_size": 256,
        "train.lr": 3e-3,
    },
    "beta16-b128": {
        "train.objective": "beta_vae",
        "model.architecture": "mlp64",
        "train.beta": 16.0,
        "train.batch_size": 128,
        "train.lr": 1e-3,
    },
    # Chen et al.'s recipe scaled to a 10-minute CPU budget: the narrow net at batch 1024 (about 2,900
    # steps in 3 M images), Adam 1e-3, beta warmed up over the same 7/18 of the run (1,100 steps).
    "narrow-chen-b1024": {
        "model.architecture": "mlp64-narrow",
        "train.objective": "beta_tcvae",
        "train.beta": 6.0,
        "train.batch_size": 1024,
        "train.lr": 1e-3,
        "train.beta_schedule": {"kind": "linear", "steps": 1100},
    },
    # The steady recipe with that warm-up: beta from 0 to 6 over the first 3,000 steps (768,000 images).
    "narrow-tcvae6-b256-lr2e-3-warmup": {
        "model.architecture": "mlp64-narrow",
        "train.objective": "beta_tcvae",
        "train.beta": 6.0,
        "train.batch_size": 256,
        "train.lr": 2e-3,
        "train.beta_schedule": {"kind": "linear", "steps": 3000},
    },
    # The same layout with 400 hidden units (mlp64-narrow): about 4x fewer multiply-adds per image.
    "narrow-beta16-b256": {
        "train.objective": "beta_vae",
        "model.architecture": "mlp64-narrow",
        "train.beta": 16.0,
        "train.batch_size": 256,
        "train.lr": 1e-3,
    },
    "narrow-beta16-b256-lr3e-3": {
        "train.objective": "beta_vae",
        "model.architecture": "mlp64-narrow",
        "train.beta": 16.0,
        "train.batch_size": 256,
        "train.lr": 3e-3,
    },
    "narrow-beta8-b128-lr2e-3": {
        "train.objective": "beta_vae",
        "model.architecture": "mlp64-narrow",
        "train.beta": 8.0,
        "train.batch_size": 128,
        "train.lr": 2e-3,
    },
    "narrow-tcvae6-b256-lr2e-3": {
        "model.architecture": "mlp64-narrow",
        "train.objective": "beta_tcvae",
        "train.beta": 6.0,
        "train.batch_size": 256,
        "train.lr": 2e-3,
    },
    "narrow-beta16-b64-lr1e-3": {
        "train.objective": "beta_vae",
        "model.architecture": "mlp64-narrow",
        "train.beta": 16.0,
        "train.batch_size": 64,
        "train.lr": 1e-3,
    },
    "narrow-beta32-b256-lr3e-3": {
        "train.objective": "beta_vae",
        "model.architecture": "mlp64-narrow",
        "train.beta": 32.0,
        "train.batch_size": 256,
        "train.lr": 3e-3,
    },
    "narrow-tcvae10-b256-lr3e-3": {
        "model.architecture": "mlp64-narrow",
        "train.objective": "beta_tcvae",
        "train.beta": 10.0,
        "train.batch_size": 256,
        "train.lr": 3e-3,
    },
    "narrow-tcvae6-b128-lr1e-3": {
        "model.architecture": "mlp64-narrow",
        "train.objective": "beta_tcvae",
        "train.beta": 6.0,
        "train.batch_size": 128,
        "train.lr": 1e-3,
    },
    # FactorVAE (Kim & Mnih 2018) with their dSprites gamma; None removes params.yaml's beta.
    "narrow-factor35-b256-lr1e-3": {
        "model.architecture": "mlp64-narrow",
        "train.objective": "factor_vae",
        "train.beta": None,
        "train.gamma": 35.0,
        "train.batch_size": 256,
        "train.lr": 1e-3,
    },
    "narrow-beta8-b256-lr3e-3": {
        "train.objective": "beta_vae",
        "model.architecture": "mlp64-narrow",
        "train.beta": 8.0,
        "train.batch_size": 256,
        "train.lr": 3e-3,
    },
    "narrow-beta16-b128-lr2e-3": {
        "train.objective": "beta_vae",
        "model.architecture": "mlp64-narrow",
        "train.beta": 16.0,
        "train.batch_size": 128,
        "train.lr": 2e-3,
    },
    "tcvae6-b256-lr2e-3": {
        "model.architecture": "mlp64",
        "train.objective": "beta_tcvae",
        "train.beta": 6.0,
        "train.batch_size": 256,
        "train.lr": 2e-3,
    },
    "narrow-beta4-b256-lr3e-3": {
        "train.objective": "beta_vae",
        "model.architecture": "mlp64-narrow",
        "train.beta": 4.0,
        "train.batch_size": 256,
        "train.lr": 3e-3,
    },
    "narrow-beta1-b256-lr3e-3": {
        "train.objective": "beta_vae",
        "model.architecture": "mlp64-narrow",
        "train.beta": 1.0,
        "train.batch_size": 256,
        "train.lr": 3e-3,
    },
}
SCORES = ("mig", "beta_vae")
SCORE_KEYS = {"mig": "mig.score", "beta_vae": "beta_vae.eval_accuracy"}


def recipe_config(params: Mapping[str, Any], recipe: str, seed: int, images: int, every_images: int) -> Any:
    """The run configuration of `recipe` for `seed`, trained for `images` images (rounded up to whole steps)."""
    from betavae.config import build_run_config
    from betavae.errors import ConfigError

    if recipe not in RECIPES:
        raise ConfigError(f"--recipes: unknown recipe {recipe!r}; expected one of {sorted(RECIPES)}")
    sections = {"model": dict(params["model"]), "train": dict(params["train"])}
    for dotted, value in RECIPES[recipe].items():
        section, key = dotted.split(".", 1)
        if value is None:
            sections[section].pop(key, None)
        else:
            sections[section][key] = value
    batch = int(sections["train"]["batch_size"])
    sections["train"] |= {
        "seed": seed,
        "steps": -(-images // batch),
        "checkpoint_every": 10**9,  # only the final step writes one
        "log_every": max(1, every_images // batch),
    }
    return build_run_config({**params, **sections}, "dsprites")


def _scorer(
    data: Any,
    settings: Mapping[str, Mapping[str, Any]],
    seed: int,
    curve: list[dict[str, float]],
    clock: dict[str, float],
    batch: int,
) -> Any:
    from betavae.evaluation.inference import representation_of
    from betavae.metrics import suite

    def score(model: torch.nn.Module, step: int) -> None:
        trained = time.perf_counter() - clock["start"] - clock["scoring"]
        began = time.perf_counter()
        represent = representation_of(model, int(data.max_pixel_value))
        source = suite.code_source(data, represent)
        scores = suite.evaluate(data, source, np.random.default_rng(seed), {k: dict(v) for k, v in settings.items()})
        clock["scoring"] += time.perf_counter() - began
        point = {"step": step, "images": step * batch, "train_s": round(trained, 2)}
        point |= {name: scores[SCORE_KEYS[name]] for name in settings}
        point["score_s"] = round(time.perf_counter() - began, 2)
        curve.append(point)
        shown = ", ".join(f"{name} {point[name]:.3f}" for name in settings)
        print(f"  step {step}: images {step * batch:,}, train {trained:.0f} s, {shown}", flush=True)

    return score


def first_reached(curves: Sequence[Sequence[dict[str, float]]], score: str, threshold: float) -> dict[str, Any]:
    """The first snapshot at which the median over seeds of `score` is at least `threshold`."""
    steps = sorted(set.intersection(*(set(int(p["step"]) for p in c) for c in curves)))
    for step in steps:
        points = [next(p for p in c if p["step"] == step) for c in curves]
        if statistics.median(p[score] for p in points) >= threshold:
            return {
                "reached": True,
                "step": step,
                "images": int(points[0]["images"]),
                "train_s": round(statistics.median(p["train_s"] for p in points), 1),
            }
    return {
        "reached": False,
        "best_median": round(
            max(statistics.median(next(p for p in c if p["step"] == s)[score] for c in curves) for s in steps), 4
        )
        if steps
        else None,
    }


def measure(
    params: Mapping[str, Any],
    data: Any,
    recipes: Sequence[str],
    seeds: Sequence[int],
    *,
    images: int,
    every_images: int,
    scores: Sequence[str] = SCORES,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train and score every recipe and seed; curves, medians and the thresholds reached.

    `on_progress` receives the result so far after each seed, so a stopped run keeps its finished seeds.
    """
    from betavae.config import EvaluateConfig
    from betavae.training.engine import train

    evaluate = EvaluateConfig.from_dict(params["evaluate"])
    table_params = evaluate.table.metric_params(evaluate.metrics)
    unknown = sorted(set(scores) - set(SCORES))
    if unknown or not scores:
        from betavae.errors import ConfigError

        raise ConfigError(f"--scores: expected some of {list(SCORES)}, got {list(scores)}")
    settings = {name: {"mig": MIG_SETTINGS, "beta_vae": dict(table_params)}[name] for name in SCORES if name in scores}
    out: dict[str, Any] = {
        "images": images,
        "every_images": every_images,
        "seeds": list(seeds),
        "mig_estimator": "disentanglement_lib (10,000 points, 20 bins)",
        "beta_vae_protocol": dict(table_params),
        "recipes": {},
    }
    for recipe in recipes:
        curves = []
        for seed in seeds:
            run = recipe_config(params, recipe, seed, images, every_images)
            batch = run.train.batch_size
            every = max(1, every_images // batch)
            snapshots = set(range(every, run.train.steps + 1, every)) | {run.train.steps}
            curve: list[dict[str, float]] = []
            clock = {"start": time.perf_counter(), "scoring": 0.0}
            print(f"{recipe} seed {seed}: {run.train.steps} steps of {batch}", flush=True)
            with tempfile.TemporaryDirectory() as tmp:
                clock["start"] = time.perf_counter()
                result = train(
                    run,
                    data,
                    Path(tmp),
                    progress=False,
                    snapshot_steps=snapshots,
                    on_snapshot=_scorer(data, settings, seed, curve, clock, batch),
                )
            curves.append(curve)
            out["recipes"].setdefault(recipe, {"overrides": RECIPES[recipe], "runs": []})["runs"].append(
                {"seed": seed, "run": run.name, "images_per_second": round(result.images_per_second), "curve": curve}
            )
            _summarise(out["recipes"][recipe], curves, list(settings))
            if on_progress is not None:
                on_progress(out)
    return out


def _summarise(entry: dict[str, Any], curves: Sequence[Sequence[dict[str, float]]], scores: Sequence[str]) -> None:
    """Median and range over the seeds so far, and the first snapshot each threshold is reached at."""
    entry["median"] = [
        {
            "images": int(points[0]["images"]),
            **{s: round(statistics.median(p[s] for p in points), 4) for s in (*scores, "train_s")},
            **{f"{s}_min": round(min(p[s] for p in points), 4) for s in scores},
            **{f"{s}_max": round(max(p[s] for p in points), 4) for s in scores},
        }
        for points in zip(*curves)
    ]
    entry["reached"] = {f"{s}>={t}": first_reached(curves, s, t) for s, t in THRESHOLDS if s in scores}
