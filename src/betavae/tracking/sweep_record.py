"""`models/<dataset>/sweep.json`: what the train stage hands to evaluate, render and register.

One :class:`RunRecord` per configuration (its MLflow run, checkpoint, logged model and outcome) inside a
:class:`SweepRecord` (dataset, experiment and the sweep's parent run). Stages read it back typed, with
:func:`read_sweep_record`, and reach a run's settings through :attr:`RunRecord.run`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from betavae.config import RunConfig
from betavae.errors import DataError
from betavae.io import read_json, write_json
from betavae.paths import ProjectPaths

STATUSES = ("finished", "diverged", "failed")


@dataclass
class RunRecord:
    """One configuration's outcome; `config` is :meth:`RunConfig.to_dict` (JSON-ready)."""

    name: str
    config: dict[str, Any]
    run_id: str
    status: str  # finished | diverged | failed
    checkpoint: str | None = None
    model_uri: str | None = None
    final_terms: dict[str, float] = field(default_factory=dict)
    images_per_second: float | None = None
    device: str | None = None
    failure_reason: str | None = None

    @property
    def finished(self) -> bool:
        return self.status == "finished"

    @property
    def run(self) -> RunConfig:
        """The run's validated configuration."""
        return RunConfig.from_dict(self.config)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunRecord:
        known = {f.name for f in fields(cls)}
        missing = {"name", "config", "run_id", "status"} - set(d)
        if missing:
            raise DataError(f"sweep record run entry lacks {sorted(missing)}: {dict(d)!r:.200}")
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass(frozen=True)
class SweepRecord:
    """A trained sweep: the dataset, its MLflow experiment and parent run, and every run's record."""

    dataset: str
    experiment_id: str
    parent_run_id: str
    runs: tuple[RunRecord, ...]

    @property
    def finished(self) -> list[RunRecord]:
        """The runs that trained to the end, in sweep order."""
        return [r for r in self.runs if r.finished]

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "experiment_id": self.experiment_id,
            "parent_run_id": self.parent_run_id,
            "runs": [r.to_dict() for r in self.runs],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SweepRecord:
        return cls(
            dataset=str(d["dataset"]),
            experiment_id=str(d["experiment_id"]),
            parent_run_id=str(d["parent_run_id"]),
            runs=tuple(RunRecord.from_dict(r) for r in d["runs"]),
        )


def write_sweep_record(path: Path, record: SweepRecord) -> Path:
    """Write the record atomically, checkpoints inside the project as paths relative to it, so the record
    stays true in another clone (a worker that `dvc pull`s the weights) or a moved project."""
    root = ProjectPaths.of_sweep_record(path).root
    data = record.to_dict()
    for run in data["runs"]:
        checkpoint = run.get("checkpoint")
        if checkpoint and Path(checkpoint).is_absolute() and Path(checkpoint).resolve().is_relative_to(root):
            run["checkpoint"] = Path(checkpoint).resolve().relative_to(root).as_posix()
    return write_json(path, data)


def read_sweep_record(path: Path) -> SweepRecord:
    """The record at `path`, relative checkpoints made absolute against its project; DataError saying which
    stage to run when it is missing or malformed."""
    if not path.is_file():
        raise DataError(f"no sweep record at {path}; run the train stage first (dvc repro train)")
    root = ProjectPaths.of_sweep_record(path).root
    try:
        data = read_json(path)
        for run in data["runs"]:
            checkpoint = run.get("checkpoint")
            if checkpoint and not Path(checkpoint).is_absolute():
                run["checkpoint"] = str(root / checkpoint)
        return SweepRecord.from_dict(data)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise DataError(
            f"{path} is not a sweep record ({type(exc).__name__}: {exc}); run the train stage again"
        ) from exc
