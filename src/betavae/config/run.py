"""The training sections of `params.yaml`: `train` (optimisation), `sweep` (grid x seeds), and the
run configuration they expand to, one per trained model.

`model` is :mod:`betavae.config.model` and the objective's keys of `train` are
:mod:`betavae.config.objectives`; this module composes them.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from betavae.config.model import ModelConfig
from betavae.config.objectives import CONDITIONAL_OBJECTIVES, OBJECTIVE_KEYS, ObjectiveConfig, objective_settings
from betavae.config.validation import (
    check_keys,
    require_bool,
    require_choice,
    require_int,
    require_number,
    require_threads,
    section_dict,
)
from betavae.errors import ConfigError
from betavae.paths import check_dataset_name

DEVICES = ("auto", "cpu", "cuda", "mps")
OPTIMIZERS = ("adam", "adagrad")
PRECISIONS = ("auto", "fp32", "bf16")
DATA_KEYS = frozenset({"train_on", "datasets"})


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings of one run (the non-objective keys of `params.yaml: train`).

    Higgins et al. 2017 (Appendix A) train the 2D-shapes MLP with Adagrad, learning rate 1e-2, batch 64;
    Burgess et al. 2018 use Adam with 5e-4. Both optimisers are available.
    """

    steps: int = 1500
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float = 5e-4
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"
    compile: bool = False
    checkpoint_every: int = 500
    log_every: int = 50
    num_threads: int | str = "auto"  # torch intra-op threads; auto = every core free to the process
    # Steps at which inference-only weights are kept for scores over training: a list of steps, or
    # {"every": N}. Empty: none (the final weights are always kept).
    snapshots: tuple[int, ...] | Mapping[str, int] = ()

    KEYS = frozenset(
        {
            "steps",
            "batch_size",
            "optimizer",
            "lr",
            "seed",
            "device",
            "precision",
            "compile",
            "checkpoint_every",
            "log_every",
            "num_threads",
            "snapshots",
        }
    )
    # Where the run executes, not what it computes: left out of the digest, so a checkpoint resumes under
    # another thread count.
    RESOURCE_KEYS = frozenset({"num_threads"})

    def __post_init__(self) -> None:
        require_int("train.steps", self.steps, 1)
        require_int("train.batch_size", self.batch_size, 1)
        require_choice("train.optimizer", self.optimizer, OPTIMIZERS)
        require_number("train.lr", self.lr, 0.0, exclusive=True)
        require_int("train.seed", self.seed, 0)
        require_choice("train.device", self.device, DEVICES)
        require_choice("train.precision", self.precision, PRECISIONS)
        require_bool("train.compile", self.compile)
        require_int("train.checkpoint_every", self.checkpoint_every, 1)
        require_int("train.log_every", self.log_every, 1)
        object.__setattr__(self, "num_threads", require_threads("train.num_threads", self.num_threads))
        object.__setattr__(self, "snapshots", _checked_snapshots(self.snapshots, self.steps))

    def snapshot_steps(self) -> tuple[int, ...]:
        """The steps before the last at which the engine keeps inference-only weights (the last step's
        weights are the run's own), ascending."""
        if isinstance(self.snapshots, Mapping):
            every = int(self.snapshots["every"])
            return tuple(range(every, self.steps, every))
        return tuple(s for s in self.snapshots if s < self.steps)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TrainConfig:
        check_keys("train", d, cls.KEYS)
        return cls(**dict(d))


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines one training run: dataset, model, objective and optimisation."""

    dataset: str
    model: ModelConfig
    objective: ObjectiveConfig
    train: TrainConfig
    overrides: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if self.model.condition_on is not None and self.objective.objective not in CONDITIONAL_OBJECTIVES:
            raise ConfigError(
                f"model.condition_on {self.model.condition_on!r}: a conditional VAE (Singh 2018 Sec. 4.2) trains "
                f"with train.objective {', '.join(CONDITIONAL_OBJECTIVES)}; got {self.objective.objective!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "model": self.model.to_dict(),
            "objective": self.objective.to_dict(),
            "train": asdict(self.train),
            "overrides": [list(kv) for kv in self.overrides],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunConfig:
        return cls(
            dataset=str(d["dataset"]),
            model=ModelConfig.from_dict(d["model"]),
            objective=ObjectiveConfig.from_dict(d["objective"], lenient=True),
            train=TrainConfig.from_dict(d["train"]),
            overrides=tuple((str(k), v) for k, v in d.get("overrides", [])),
        )

    def flat_params(self) -> dict[str, Any]:
        """All settings as `section.key` pairs, the form MLflow stores as run parameters."""
        flat: dict[str, Any] = {"data.dataset": self.dataset}
        for section, values in (
            ("model", self.model.to_dict()),
            ("train", self.objective.to_dict()),
            ("train", asdict(self.train)),
        ):
            for key, value in values.items():
                flat[f"{section}.{key}"] = value
        return flat

    @property
    def name(self) -> str:
        """A readable run name from the objective and the swept values, e.g. `beta_vae-beta=4-seed=0`."""
        parts = [self.objective.objective]
        for key, value in self.overrides:
            if key in ("train.seed", "train.objective"):
                continue
            parts.append(f"{key.split('.')[-1]}={_format_value(value)}")
        parts.append(f"seed={self.train.seed}")
        return "-".join(parts)

    @property
    def digest(self) -> str:
        """A short content hash of the configuration; checkpoints are only resumed under the same digest."""
        d = {k: v for k, v in self.to_dict().items() if k != "overrides"}
        d["train"] = {k: v for k, v in d["train"].items() if k not in TrainConfig.RESOURCE_KEYS}
        if not d["train"]["snapshots"]:
            del d["train"]["snapshots"]  # digests of runs without snapshots stay what they were
        blob = json.dumps(d, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _checked_snapshots(value: Any, steps: int) -> tuple[int, ...] | dict[str, int]:
    """`train.snapshots`: a list of distinct steps in 1..train.steps, or {every: N} with N >= 1."""
    if isinstance(value, Mapping):
        if set(value) != {"every"}:
            raise ConfigError(
                f"train.snapshots must be a list of steps or {{every: N}}, got a mapping with keys {sorted(value)}"
            )
        require_int("train.snapshots.every", value["every"], 1)
        return {"every": int(value["every"])}
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"train.snapshots must be a list of steps or {{every: N}}, got {value!r}")
    for step in value:
        require_int("train.snapshots[]", step, 1)
        if step > steps:
            raise ConfigError(f"train.snapshots: step {step} is after the last step (train.steps = {steps})")
    if len(set(value)) != len(value):
        raise ConfigError(f"train.snapshots lists a step twice: {list(value)!r}")
    return tuple(sorted(int(s) for s in value))


def _format_value(value: Any) -> str:
    """A swept value as it appears in a run name (and its folders): `4`, `0.5`, `linear-3000` for a mapping."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Mapping):
        return "-".join(_format_value(v) for v in value.values() if v is not None)
    if isinstance(value, (list, tuple)):
        return "-".join(_format_value(v) for v in value)
    return str(value)


@dataclass(frozen=True)
class SweepConfig:
    """A grid over `model.*` and `train.*` keys, crossed with several seeds (`params.yaml: sweep`).

    `sweep.grid` is one block (a mapping of keys to lists of values: their product) or a list of blocks,
    each with its own keys, so one sweep can compare objectives with different settings, e.g.
    `[{train.objective: [beta_vae], train.beta: [1, 4]}, {train.objective: [isa_vae], train.isa_p0: [2.1]}]`.
    """

    blocks: tuple[Mapping[str, tuple[Any, ...]], ...] = ({},)
    seeds: tuple[int, ...] = (0,)
    name: str = "sweep"

    KEYS = frozenset({"grid", "seeds", "name"})

    @property
    def grid(self) -> dict[str, tuple[Any, ...]]:
        """The swept keys and values, for names and logs: the block itself, or with several blocks each
        key prefixed by its block's index, `block1.train.beta` (a name MLflow accepts as a parameter)."""
        if len(self.blocks) == 1:
            return dict(self.blocks[0])
        return {f"block{i}.{k}": v for i, block in enumerate(self.blocks) for k, v in block.items()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> SweepConfig:
        d = section_dict("sweep", d)
        check_keys("sweep", d, cls.KEYS)
        grid = d.get("grid")
        grid = {} if grid is None else grid
        if isinstance(grid, list):
            if not grid:
                raise ConfigError("sweep.grid: a list of blocks must hold at least one block")
            blocks = tuple(_checked_block(f"sweep.grid[{i}]", block) for i, block in enumerate(grid))
        else:
            blocks = (_checked_block("sweep.grid", grid),)
        seeds = d.get("seeds", [0])
        if not isinstance(seeds, list) or not seeds:
            raise ConfigError(f"sweep.seeds must be a non-empty list of integers, got {seeds!r}")
        for seed in seeds:
            require_int("sweep.seeds[]", seed, 0)
        name = d.get("name", "sweep")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"sweep.name must be a non-empty string, got {name!r}")
        return cls(blocks=blocks, seeds=tuple(seeds), name=name)


def _checked_block(where: str, block: Any) -> dict[str, tuple[Any, ...]]:
    """One grid block: `model.*`/`train.*` keys mapped to non-empty lists of values."""
    if not isinstance(block, Mapping):
        raise ConfigError(f"{where} must map params keys to lists of values, got {block!r}")
    clean: dict[str, tuple[Any, ...]] = {}
    for key, values in block.items():
        if not isinstance(key, str) or key.split(".")[0] not in ("model", "train") or "." not in key:
            raise ConfigError(f"{where}.{key}: only model.* and train.* keys can be swept")
        if key == "train.seed":
            raise ConfigError(f"{where}.train.seed: list the seeds under sweep.seeds")
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{where}.{key} must be a non-empty list, got {values!r}")
        clean[key] = tuple(values)
    return clean


def build_run_config(params: Mapping[str, Any], dataset: str, overrides: Mapping[str, Any] | None = None) -> RunConfig:
    """Validate `model` and `train` of `params` (after `overrides`) into the RunConfig of a run on `dataset`.

    `dataset` is chosen by the caller (a stage: one of `data.train_on`, see
    :func:`betavae.config.per_dataset.checked_dataset`); when `params` declares `data.datasets`, it must be
    one of them.
    """
    p = copy.deepcopy(dict(params))
    for dotted, value in (overrides or {}).items():
        section, _, key = dotted.partition(".")
        if not key or section not in ("model", "train"):
            raise ConfigError(f"override {dotted!r}: expected model.<key> or train.<key>")
        p[section] = {**section_dict(section, p.get(section)), key: value}
    data = section_dict("data", p.get("data"))
    check_keys("data", data, DATA_KEYS)
    if not isinstance(dataset, str) or not dataset:
        raise ConfigError(f"dataset must name a dataset, got {dataset!r}")
    check_dataset_name(dataset, "dataset")
    declared = data.get("datasets")
    if isinstance(declared, Mapping) and declared and dataset not in declared:
        raise ConfigError(f"dataset {dataset!r} is not one of data.datasets: {', '.join(map(str, declared))}")
    model = ModelConfig.from_dict(section_dict("model", p.get("model")))
    train_section = section_dict("train", p.get("train"))
    # train.keep_checkpoints is a sweep-level storage choice (config.per_dataset), not part of a run
    check_keys("train", train_section, TrainConfig.KEYS | OBJECTIVE_KEYS | {"keep_checkpoints"})
    objective_keys = {k: v for k, v in train_section.items() if k in OBJECTIVE_KEYS}
    if "train.objective" in (overrides or {}):
        # a swept objective (a grid block of its own) takes from train: only the keys it has; the others
        # belong to the objective train: names, and were checked against it
        swept = {k.partition(".")[2] for k in overrides or {} if k.startswith("train.")}
        own = objective_settings(objective_keys.get("objective"))
        objective_keys = {k: v for k, v in objective_keys.items() if k in own or k in swept}
    objective = ObjectiveConfig.from_dict(objective_keys)
    train = TrainConfig.from_dict({k: v for k, v in train_section.items() if k in TrainConfig.KEYS})
    return RunConfig(
        dataset=dataset, model=model, objective=objective, train=train, overrides=tuple((overrides or {}).items())
    )


def expand_sweep(params: Mapping[str, Any], dataset: str) -> list[RunConfig]:
    """All run configurations of the sweep in `params` on `dataset`: each grid block's product, block after
    block, times the seeds.

    Every configuration is validated with its own objective's keys before any is returned, so a bad value
    anywhere in the grid stops the sweep before the first run trains.
    """
    sweep = SweepConfig.from_dict(params.get("sweep"))
    runs = []
    for block in sweep.blocks:
        keys = list(block)
        for values in itertools.product(*(block[k] for k in keys)):
            for seed in sweep.seeds:
                overrides = dict(zip(keys, values, strict=True))
                overrides["train.seed"] = seed
                runs.append(build_run_config(params, dataset, overrides))
    names = [r.name for r in runs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"sweep produces duplicate configurations: {duplicates}")
    return runs


def load_params(path: str | Path = "params.yaml") -> dict[str, Any]:
    """Read `params.yaml` into a dict, with a clear error when the file is missing or not a mapping."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"parameters file not found: {path}")
    try:
        params = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(params, dict):
        raise ConfigError(f"{path} must hold a mapping of sections, got {type(params).__name__}")
    return params
