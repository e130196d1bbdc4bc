"""Every paper config under `configs/` run end to end at a tiny budget, and the figures its README row
promises checked for their structure.

Each config is merged over `params.yaml` as `pipelines.paper_scale` does
(:func:`betavae.evaluation.paper_scale.merge`), then cut to a few steps, one seed (two where UDR picks the
champion), the first value of each grid axis (the first two of an axis the figure is drawn over; every
grid block, so every objective of a mixed sweep, is kept), a tiny metric profile, scaled-down snapshots
and a small dataset of the same kind. Its stages
(acquire, validate, train, evaluate, render, register, the order of `dvc.yaml`) run through their own
entry points in one stage-runner process inside a copy of the project: a stage started as
`python -m pipelines.<stage>` spends 6-15 s importing torch, Prefect and MLflow, which would be most of
this file's time. The runner reports to the session's Prefect server.

Downloads (MNIST, EMNIST, CelebA) and dSprites come from small files in their official formats served on
127.0.0.1: procedural dSprites is always the full 737,280 images (no key shrinks it), and loading it
costs each stage about 20 s, so the dSprites configs read a reduced grid of the official archive
(`expect_full: false`) instead. About 5 min on one core: rendering a dSprites run takes ~8 s, most of it
the factor-response figure (a panel per latent and factor row, 100 panels for the 20-latent models).
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import runpy
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).parents[2]
CONFIGS = sorted(p.stem for p in (ROOT / "configs").glob("*.yaml"))
STAGES = ("acquire", "validate", "train", "evaluate", "render", "register")

pytestmark = pytest.mark.slow

# The tiny budget: steps, and the snapshot steps that replace a config's list (Baklazhenko draws a row per
# snapshot, so two are kept) or its {every: N}.
STEPS = 6
BATCH = 16
SNAPSHOT_LIST = [2, 4]
SNAPSHOT_EVERY = 3
TINY_PROFILE = {
    "beta_vae": {"batch_size": 8, "num_train": 60, "num_eval": 30},
    "mig": {"num_train": 128, "num_bins": 10},
}
DSPRITES_GRID = (3, 2, 2, 3, 3)  # shape, scale, orientation, posX, posY: 108 images


@dataclass(frozen=True)
class Expected:
    """What a config's README row promises: its dataset, the pictures of each run and of the sweep (paths
    under `plots/<dataset>/`), and whether it is the Fig. 5 (left) table."""

    dataset: str
    run_pictures: tuple[str, ...] = ()
    sweep_pictures: tuple[str, ...] = ()
    table: bool = False
    objectives: frozenset[str] = field(default_factory=frozenset)
    spread: tuple[str, ...] = ()  # grid axes the figure is drawn over: both ends kept, not only the first
    conditional_pictures: tuple[str, ...] = ()  # pictures of the runs of a conditional model only


# The README's table of paper experiments, row by row. Every dSprites run also gets the factor response
# and traversal of Higgins 2017 Fig. 6 ("make run (any sweep)").
FIG6 = ("factor_response.png", "traversal.png")
BETA_VAE = frozenset({"beta_vae"})
FOUR_OBJECTIVES = frozenset({"beta_vae", "beta_tcvae", "isa_vae", "isa_tcvae"})
EXPECTED = {
    "higgins2017-fig5": Expected("dsprites", FIG6, table=True, objectives=BETA_VAE, spread=("train.beta",)),
    "dsprites-cpu": Expected(
        "dsprites", FIG6, table=True, objectives=frozenset({"beta_tcvae"}), spread=("train.beta",)
    ),
    "higgins2017-fig5-right": Expected(
        "dsprites", FIG6, ("normalised_beta.png",), objectives=BETA_VAE, spread=("model.latent_dim",)
    ),
    "higgins2017-fig5-right-cpu": Expected(
        "dsprites", FIG6, ("normalised_beta.png",), objectives=BETA_VAE, spread=("model.latent_dim",)
    ),
    "stuhmer2020-fig5a": Expected(
        "dsprites", FIG6, ("score_distribution.png",), objectives=frozenset({"vae", "isa_vae"})
    ),
    "stuhmer2020-fig5a-cpu": Expected(
        "dsprites", FIG6, ("score_distribution.png",), objectives=frozenset({"vae", "isa_vae"})
    ),
    "stuhmer2020-fig5b": Expected("dsprites", FIG6, ("tradeoff.png",), objectives=FOUR_OBJECTIVES),
    "stuhmer2020-fig5b-cpu": Expected("dsprites", FIG6, ("tradeoff.png",), objectives=FOUR_OBJECTIVES),
    "levy2020-fig5": Expected(
        "blobs", ("traversal.png", "reconstructions.png", "kl_per_latent.png"), objectives=BETA_VAE
    ),
    "levy2020-fig7": Expected("letters", ("latent_scatter.png", "decoded_grid.png"), objectives=BETA_VAE),
    "baklazhenko2023-figs2-9": Expected(
        "mnist", ("latent_scatter.png", "snapshots.png", "losses.png"), objectives=frozenset({"ae", "beta_vae"})
    ),
    "higgins2017-figs1-4": Expected("celeba", ("traversal.png",), objectives=BETA_VAE),
    "singh2018-cvae": Expected(
        "mnist", ("latent_scatter.png",), objectives=frozenset({"vae"}), conditional_pictures=("class_samples.png",)
    ),
}
# The picture kind (`betavae.render.figure.SIZES`) of each file name.
KIND = {
    "traversal.png": "traversal",
    "reconstructions.png": "reconstructions",
    "kl_per_latent.png": "kl_per_latent",
    "losses.png": "losses",
    "factor_response.png": "factor_response",
    "latent_scatter.png": "latent_scatter",
    "decoded_grid.png": "decoded_grid",
    "snapshots.png": "snapshot_pictures",
    "tradeoff.png": "sweep_tradeoff",
    "score_distribution.png": "score_distribution",
    "normalised_beta.png": "normalised_beta",
    "class_samples.png": "class_samples",
}


def test_every_config_has_its_expected_figures() -> None:
    """A config added to `configs/` needs its row here (and in the README's table)."""
    assert sorted(EXPECTED) == CONFIGS
    readme = (ROOT / "README.md").read_text()
    for name in CONFIGS:
        if name != "higgins2017-fig5":  # the default config: the row's command names no --config
            assert f"configs/{name}.yaml" in readme, name


# --- the served files ------------------------------------------------------------------------------------


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def write_site(site: Path) -> dict[str, Path]:
    """Small files in each official format the configs download, under their published names."""
    from betavae.data.importers import dsprites_official
    from tests.helpers import importer_samples as samples

    files = {
        "dsprites": samples.save_npz(site / dsprites_official.FILENAME, samples.dsprites_arrays(DSPRITES_GRID)),
        "emnist": samples.write_emnist_zip(site / "gzip.zip", "letters", "train", 26 * 8, test_n=26 * 2),
        "celeba": samples.write_celeba_zip(
            site / "img_align_celeba.zip", n=24, first=182622
        ),  # 16 train, 8 test (official partition from 182638),
    }
    for split, n in (("train", 80), ("test", 20)):
        for path in samples.write_mnist_dir(site / "mnist", split, n):
            files[f"mnist/{path.name}"] = path
    return files


def served_data(spec: Mapping[str, Any], base: str, files: Mapping[str, Path]) -> dict[str, Any]:
    """The config's `data.datasets` entry pointed at the local server, with the checksums of the files there."""
    kind = spec["kind"]
    if kind == "dsprites":  # the config's procedural source, as the official archive on a reduced grid
        path = files["dsprites"]
        url = f"{base}/{path.name}"
        return {"kind": "dsprites", "source": "official", "url": url, "md5": _md5(path), "expect_full": False}
    if kind == "blobs":
        return {**spec, "grid": 8}
    if kind == "mnist":
        mnist = {name.split("/", 1)[1]: _md5(p) for name, p in files.items() if name.startswith("mnist/")}
        return {**spec, "url": f"{base}/mnist", "md5": mnist}
    if kind == "emnist":
        return {**spec, "url": f"{base}/gzip.zip", "md5": _md5(files["emnist"])}
    if kind == "celeba":
        return {**spec, "url": f"{base}/img_align_celeba.zip", "md5": _md5(files["celeba"])}
    raise AssertionError(f"no small served file for dataset kind {kind!r}")


# --- the tiny budget -------------------------------------------------------------------------------------


def shrink_grid(grid: Any, spread: tuple[str, ...]) -> Any:
    """Every block of the grid (so every objective), each axis cut to its first value, or to its first two
    where the figure is drawn over that axis (`spread`)."""
    blocks = grid if isinstance(grid, list) else [grid]
    out = [{k: v[: 2 if k in spread else 1] for k, v in b.items()} for b in blocks]
    return out if isinstance(grid, list) else out[0]


def tiny_params(name: str, base: Mapping[str, Any], base_url: str, files: Mapping[str, Path]) -> dict[str, Any]:
    """`params.yaml` with config `name` merged over it, cut to the tiny budget."""
    from betavae.evaluation.paper_scale import merge

    config = yaml.safe_load((ROOT / "configs" / f"{name}.yaml").read_text())
    p = merge(copy.deepcopy(dict(base)), config)  # the tiny values below must not reach `base`
    dataset = p["data"]["train_on"][0]
    spec = p["data"]["datasets"][dataset]
    p["data"] = {"train_on": [dataset], "datasets": {dataset: served_data(spec, base_url, files)}}
    train = p["train"]
    snapshots = train.get("snapshots")
    if isinstance(snapshots, list) and snapshots:
        snapshots = SNAPSHOT_LIST
    elif isinstance(snapshots, Mapping):
        snapshots = {"every": SNAPSHOT_EVERY}
    train.update(
        steps=STEPS,
        batch_size=BATCH,
        checkpoint_every=SNAPSHOT_EVERY,
        log_every=2,
        snapshots=snapshots,
        device="cpu",
        num_threads=1,
    )
    udr = p["register"]["metric"].startswith("udr.")
    grid = shrink_grid(p["sweep"]["grid"], EXPECTED[name].spread)
    p["sweep"] = {**p["sweep"], "grid": grid, "seeds": p["sweep"]["seeds"][: 2 if udr else 1]}
    evaluate = p["evaluate"]
    evaluate.update(
        profile="tiny",
        profiles={**evaluate["profiles"], "tiny": TINY_PROFILE},
        reconstruction_samples=64,
        num_threads=1,
        udr={"num_samples": 40},
    )
    table = evaluate["table"]
    table.update(classifier_seeds=[0], fit_samples=60)
    table["params"] = {**table["params"], "num_train": 60, "num_eval": 30}
    p["render"] = {**p["render"], "steps": 3, "seed_images": 1, "kl_samples": 64}
    return p


# --- the stage runner ------------------------------------------------------------------------------------


def run_stages(dataset: str) -> dict[str, Any]:
    """In the runner: clear the dataset's outputs of the previous config, then run each stage's entry point
    (`python -m pipelines.<stage> <dataset>`) in this process. Returns the seconds per stage, or the stage
    that failed with its exit status or traceback."""
    for folder in ("models", "metrics", "plots", "data/validation"):
        shutil.rmtree(Path(folder) / dataset, ignore_errors=True)
    seconds: dict[str, float] = {}
    for stage in STAGES:
        started = time.monotonic()
        sys.argv = [f"pipelines/{stage}.py", dataset]
        try:
            runpy.run_module(f"pipelines.{stage}", run_name="__main__", alter_sys=True)
        except SystemExit as exc:
            if exc.code not in (None, 0):
                return {"failed": stage, "error": f"exit status {exc.code}", "seconds": seconds}
        except Exception:
            return {"failed": stage, "error": traceback.format_exc(), "seconds": seconds}
        seconds[stage] = round(time.monotonic() - started, 2)
    return {"seconds": seconds}


def runner_main() -> None:
    """One JSON command a line on stdin (`{"dataset": ..., "result": ...}`); each result goes to its file."""
    for line in sys.stdin:
        command = json.loads(line)
        result = run_stages(command["dataset"])
        out = Path(command["result"])
        out.with_suffix(".tmp").write_text(json.dumps(result))
        out.with_suffix(".tmp").replace(out)
        sys.stdout.flush()
        sys.stderr.flush()


class StageRunner:
    """The runner process in the project copy; `run` writes params.yaml and runs one config's stages."""

    def __init__(self, project: Path, env: dict[str, str], log: Path) -> None:
        from tests.helpers.project_copy import BIN

        self.project, self.log = project, log
        with open(log, "w") as out:
            self.proc = subprocess.Popen(
                [str(BIN / "python"), str(Path(__file__).resolve()), "--stage-runner"],
                cwd=project,
                env=env,
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )

    def run(self, name: str, params: Mapping[str, Any], timeout: float = 300.0) -> dict[str, Any]:
        (self.project / "params.yaml").write_text(yaml.safe_dump(dict(params), sort_keys=False))
        result = self.project / f".stage-result-{name}.json"
        offset = self.log.stat().st_size
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"dataset": params["data"]["train_on"][0], "result": str(result)}) + "\n")
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        while not result.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"stage runner died or timed out on {name}:\n{self.tail(offset)}")
            time.sleep(0.1)
        outcome = json.loads(result.read_text())
        if "failed" in outcome:
            raise AssertionError(
                f"{name}: stage {outcome['failed']} failed: {outcome['error']}\n--- log ---\n{self.tail(offset)}"
            )
        return outcome

    def tail(self, offset: int, chars: int = 6000) -> str:
        return self.log.read_text(errors="replace")[offset:][-chars:]

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def configs_project(tmp_path_factory, prefect_api) -> Iterator[tuple[Path, StageRunner, dict[str, Any], str, dict]]:
    from tests.helpers.http_server import serve_directory
    from tests.helpers.project_copy import clean_env, copy_project

    project = copy_project(tmp_path_factory.mktemp("configs-project"))
    files = write_site(tmp_path_factory.mktemp("site"))
    base = yaml.safe_load((ROOT / "params.yaml").read_text())
    env = clean_env(project) | {"PREFECT_API_URL": prefect_api}
    with serve_directory(next(iter(files.values())).parent) as (url, _):
        runner = StageRunner(project, env, project.parent / "stage-runner.log")
        try:
            yield project, runner, base, url, files
        finally:
            runner.close()


# --- the checks ------------------------------------------------------------------------------------------


def expected_runs(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(objective, seed suffix) of every configuration x seed of the tiny sweep, block after block."""
    grid = params["sweep"]["grid"]
    out = []
    for block in grid if isinstance(grid, list) else [grid]:
        for values in itertools.product(*block.values()):
            objective = dict(zip(block, values)).get("train.objective", params["train"]["objective"])
            out += [(objective, f"-seed={s}") for s in params["sweep"]["seeds"]]
    return out


def open_png(path: Path, kind: str) -> Any:
    """The picture as greyscale pixels (H, W); it is a PNG of the renderer's fixed size for its kind
    (`betavae.render.figure.SIZES`) with something drawn on it."""
    import numpy as np
    from PIL import Image

    from betavae.render.figure import SIZES

    assert path.is_file(), f"missing {path}"
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == SIZES[kind], (path, image.format, image.size)
        grey = np.asarray(image.convert("L"))
    assert int(grey.max()) - int(grey.min()) > 100, f"{path} is nearly blank"
    return grey


def image_box(grey: Any) -> tuple[int, int]:
    """(width, height) in pixels of the image an axes shows: the rows and columns mostly not white (the
    title and tick labels cover far less of a line)."""

    drawn = grey < 200
    return longest_run(drawn.mean(axis=0) > 0.3), longest_run(drawn.mean(axis=1) > 0.3)


def longest_run(mask: Any) -> int:
    """The length of the longest run of True in a 1-D mask: the image, not a line of title text above it."""
    import numpy as np

    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    assert edges.size, "no image drawn"
    return int((edges[1::2] - edges[::2]).max())


def check_snapshots_png(path: Path, snapshots: int) -> None:
    """The snapshot picture's mosaic of square images is 2 x COLUMNS wide and one row high per model: the
    inputs, each snapshot, the trained model (`betavae.render.snapshot_pictures`), drawn at equal aspect."""
    from betavae.render.snapshot_pictures import COLUMNS

    width, height = image_box(open_png(path, "snapshot_pictures"))
    assert round(2 * COLUMNS * height / width) == 1 + snapshots + 1, (path, width, height)


def check_class_samples_png(path: Path, classes: int) -> None:
    """The class samples are a mosaic of square images, COLUMNS wide and one row per class
    (`betavae.render.class_samples`), drawn at equal aspect."""
    from betavae.render.class_samples import COLUMNS

    width, height = image_box(open_png(path, "class_samples"))
    assert round(COLUMNS * height / width) == classes, (path, width, height)


def check_decoded_grid_png(path: Path) -> None:
    """The decoded grid is a square mosaic (GRID x GRID images of the same side), drawn at equal aspect."""
    width, height = image_box(open_png(path, "decoded_grid"))
    assert abs(width - height) <= 0.02 * width, (path, width, height)


def check_sweep_picture(picture: str, path: Path, points: list[Any], expected: Expected) -> None:
    """A sweep plot of the README row, and the points it draws: every run finished with the row's metric."""
    from betavae.render.sweep_plots import configurations, metrics_present
    from betavae.tracking.runs_table import RECONSTRUCTION

    open_png(path, KIND[picture])
    assert "mig.score" in metrics_present(points), "the plot would show no disentanglement metric"
    if picture == "normalised_beta.png":  # x: latent size, one column per size swept
        assert len({p.latent_dim for p in points}) == 2
    if picture == "tradeoff.png":  # x: reconstruction, a mean +- s.e. per objective and beta
        assert all(RECONSTRUCTION in p.scores for p in points)
        assert {objective for objective, _ in configurations(points)} == expected.objectives
    if picture == "score_distribution.png":  # a box per configuration
        assert {objective for objective, _ in configurations(points)} == expected.objectives


def check_table(project: Path, dataset: str, params: Mapping[str, Any], runs: int) -> None:
    """The Fig. 5 (left) table under the A.4 protocol: a row per baseline of `evaluate.table.baselines`, in
    order, then a row per configuration, pooled over its seeds, with its training budget."""
    table = json.loads((project / "metrics" / dataset / "table.json").read_text())
    markdown = (project / "metrics" / dataset / "table.md").read_text()
    assert "protocol higgins2017" in table["protocol"] and "higgins2017" in markdown
    baselines = ["Ground truth", "Raw pixels", "PCA", "ICA", "Untrained VAE"]
    assert params["evaluate"]["table"]["baselines"] == ["ground_truth", "raw_pixels", "pca", "ica", "untrained_vae"]
    models = [row["model"] for row in table["rows"]]
    seeds = len(params["sweep"]["seeds"])
    assert models[:5] == baselines and len(models) == 5 + runs // seeds, models
    for row in table["rows"][5:]:
        assert (row["replicas"], row["steps"], row["images_seen"]) == (seeds, STEPS, STEPS * BATCH), row
    assert all(0.0 <= row["mean"] <= 1.0 for row in table["rows"])
    assert all(model in markdown for model in models)


@pytest.mark.parametrize("name", CONFIGS)
def test_config_runs_end_to_end_and_draws_its_figures(name: str, configs_project) -> None:
    from betavae.tracking.runs_table import sweep_points

    project, runner, base, url, files = configs_project
    expected = EXPECTED[name]
    params = tiny_params(name, base, url, files)
    dataset = params["data"]["train_on"][0]
    assert dataset == expected.dataset
    outcome = runner.run(name, params)
    print(name, outcome["seconds"])

    # One run per configuration x seed, in sweep order, each scored; every objective of the grid trained.
    want = expected_runs(params)
    assert {objective for objective, _ in want} == expected.objectives
    sweep = json.loads((project / "models" / dataset / "sweep.json").read_text())
    runs = [r["name"] for r in sweep["runs"]]
    assert len(runs) == len(want) and len(set(runs)) == len(runs)
    for run, (objective, seed) in zip(runs, want, strict=True):
        assert run.startswith(f"{objective}-") and run.endswith(seed), (run, objective, seed)
    scores = json.loads((project / "metrics" / dataset / "scores.json").read_text())
    assert sorted(scores) == sorted(runs)
    register = params["register"]["metric"]
    assert all(register in scores[run] for run in runs), register
    registered = json.loads((project / "models" / dataset / "registered.json").read_text())
    assert registered["metric"] == register and registered["run_name"] in runs

    plots = project / "plots" / dataset
    index = json.loads((plots / "index.json").read_text())
    assert [r["run"] for r in index["runs"]] == runs
    latent_dims = {c["run"]: c["model.latent_dim"] for c in index["comparison"]}
    for entry in index["runs"]:
        run = entry["run"]
        folder = plots / "runs" / run
        assert len(entry["kl_per_latent"]) == latent_dims[run]  # the traversal's rows: one per latent
        for picture in expected.run_pictures:
            if picture == "snapshots.png":
                check_snapshots_png(folder / picture, len(SNAPSHOT_LIST))
            elif picture == "decoded_grid.png":
                check_decoded_grid_png(folder / picture)
            else:
                open_png(folder / picture, KIND[picture])
        conditional = "condition_on=" in run
        for picture in expected.conditional_pictures:
            if conditional:
                check_class_samples_png(folder / picture, classes=10)  # the ten digits
            else:
                assert not (folder / picture).exists(), f"{run} is not conditional: {picture}"
    if expected.conditional_pictures:
        assert any("condition_on=" in run for run in runs), "no conditional run"
    points = sweep_points(index["comparison"])
    for picture in expected.sweep_pictures:
        check_sweep_picture(picture, plots / "sweep" / picture, points, expected)
    if expected.table:
        check_table(project, dataset, params, len(runs))


if __name__ == "__main__" and sys.argv[1:] == ["--stage-runner"]:
    runner_main()
