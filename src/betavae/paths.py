"""Every path and file name of a project checkout, in one place.

```
params.yaml                                   the pipeline's parameters
data/datasets/<name>/                         a stored dataset (betavae.data.storage layout)
data/validation/<name>/                       its Great Expectations Data Docs and summary.json
models/<dataset>/sweep.json                   the sweep record (betavae.tracking.sweep_record)
models/<dataset>/checkpoints/<run>-<digest>/  one run's training state: last.pt, resumable; final_state.pt
                                              once sealed with train.keep_checkpoints
models/<dataset>/weights/<run>-<digest>/      one finished run's inference weights, weights.pt
models/<dataset>/registered.json              the registered champion
metrics/<dataset>/scores.json                 every run's scores (DVC metrics)
metrics/<dataset>/table.{json,md}             the comparison table; table_details.json its replicas
plots/<dataset>/                              rendered pictures; index.json says what was drawn
reports/<dataset>/index.html                  the static HTML report
docs/results/<dataset>-fig5.md                a paper-scale table, committed
mlflow.db, mlruns/                            the default MLflow store
.prefect/                                     the temporary Prefect server's state
```

Two kinds of `.pt` file, never one name for both: training state (model, optimiser and discriminator
states, RNG states; :data:`LAST_STATE_FILE` while a run trains, :data:`FINAL_STATE_FILE` when kept after
sealing) and inference weights (:data:`WEIGHTS_FILE`: the model alone, what evaluation, rendering, a
logged model and a worker's clone read).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from betavae.errors import ConfigError, DataError

ROOT_ENV = "BETAVAE_ROOT"
SWEEP_RECORD_FILE = "sweep.json"
#: A run's latest training state, written every `train.checkpoint_every` steps; an interrupted run resumes
#: from it.
LAST_STATE_FILE = "last.pt"
#: A sealed run's training state, kept beside its weights only with `train.keep_checkpoints`.
FINAL_STATE_FILE = "final_state.pt"
#: Inference weights: the training state without optimiser, objective (discriminator) or RNG states.
WEIGHTS_FILE = "weights.pt"
#: A run's snapshots over training (`train.snapshots`): inference weights at chosen steps, one file each,
#: in this folder beside the checkpoint while training and beside the weights once sealed.
SNAPSHOTS_DIR = "snapshots"


def snapshot_file(step: int) -> str:
    """The file name of the snapshot at `step` (zero-padded, so names sort by step)."""
    return f"step-{step:09d}.pt"


def snapshot_step(path: Path) -> int:
    """The step a snapshot file was taken at, from its name (:func:`snapshot_file`)."""
    return int(path.stem.removeprefix("step-"))


def snapshot_files(weights: Path) -> list[Path]:
    """A sealed run's snapshot files (in `SNAPSHOTS_DIR` beside its `weights`), in step order."""
    return sorted((Path(weights).parent / SNAPSHOTS_DIR).glob("step-*.pt"), key=snapshot_step)


#: The comparison table of a dataset (:mod:`betavae.evaluation.table`), machine-readable and Markdown.
TABLE_JSON_FILE = "table.json"
TABLE_MARKDOWN_FILE = "table.md"
#: The JSON summary of a dataset's validation (:mod:`betavae.data.validation`).
VALIDATION_SUMMARY_FILE = "summary.json"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def check_dataset_name(name: object, key: str = "data.datasets") -> str:
    """A dataset name is one directory under the data folder: no separators, no leading dot, so no `..`.

    Raises:
        ConfigError: naming `key`, the value and the allowed characters.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(
            f"{key}: dataset name {name!r} must start with a letter or digit and use only "
            "letters, digits, '_', '-' and '.'"
        )
    return name


def project_root() -> Path:
    """The working directory when DVC runs a stage (`$DVC_STAGE` is set: the repository, or the copy a
    queued or temporary experiment runs in), else `$BETAVAE_ROOT` if set (a Prefect worker started
    elsewhere), else the working directory."""
    if os.environ.get("DVC_STAGE"):
        return Path.cwd().resolve()
    return Path(os.environ.get(ROOT_ENV) or Path.cwd()).resolve()


#: Where `dvc exp run --temp` and `--queue` run the stages: a copy of the repository that DVC deletes once
#: the experiment is committed (`<repo>/.dvc/tmp/exps/<copy>/`).
DVC_EXPERIMENT_COPIES = (".dvc", "tmp", "exps")


def workspace_of(root: Path) -> Path:
    """The repository whose DVC experiment copy `root` is, or `root` itself when it is not such a copy.

    The tracking store lives in the repository, so runs and registry entries logged by a queued or
    temporary experiment outlive the copy they ran in. A copy is recognised by its place (DVC keeps every
    copy under its repository's `.dvc/tmp/exps/`), so a shell opened in one finds the store as well.
    """
    parts = Path(root).parts
    n = len(DVC_EXPERIMENT_COPIES)
    for i in range(len(parts) - n):
        if parts[i : i + n] == DVC_EXPERIMENT_COPIES:
            return Path(*parts[:i])
    return Path(root)


@dataclass(frozen=True)
class ProjectPaths:
    """The files and folders of the project rooted at `root`."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def params_file(self) -> Path:
        return self.root / "params.yaml"

    @property
    def datasets(self) -> Path:
        """`data/datasets/`: one folder per entry of `data.datasets`."""
        return self.root / "data" / "datasets"

    def dataset(self, name: str, key: str = "dataset") -> Path:
        """`data/datasets/<name>`; a name that is a path (`..`, `/`) is refused, naming `key`."""
        return self.datasets / check_dataset_name(name, key)

    def validation(self, name: str) -> Path:
        return self.root / "data" / "validation" / name

    def validation_summary(self, name: str) -> Path:
        """`data/validation/<name>/summary.json`, written by :mod:`betavae.data.validation`."""
        return self.validation(name) / VALIDATION_SUMMARY_FILE

    def models(self, dataset: str) -> Path:
        return self.root / "models" / dataset

    def sweep_record(self, dataset: str) -> Path:
        return self.models(dataset) / SWEEP_RECORD_FILE

    @classmethod
    def of_sweep_record(cls, path: Path) -> ProjectPaths:
        """The project whose :meth:`sweep_record` is `path`, found from the path alone (a record read in
        another clone or a moved project); DataError unless `path` is `<root>/models/<dataset>/sweep.json`."""
        path = Path(path).resolve()
        if len(path.parents) < 3 or cls(path.parents[2]).sweep_record(path.parent.name) != path:
            raise DataError(
                f"{path} is not where a sweep record lives: expected <project>/models/<dataset>/{SWEEP_RECORD_FILE}"
            )
        return cls(path.parents[2])

    def checkpoints(self, dataset: str) -> Path:
        return self.models(dataset) / "checkpoints"

    def run_checkpoints(self, dataset: str, run_name: str, digest: str) -> Path:
        """One run's checkpoint folder; the config digest keeps a changed configuration from resuming."""
        return self.checkpoints(dataset) / f"{run_name}-{digest}"

    def run_last_state(self, dataset: str, run_name: str, digest: str) -> Path:
        """One run's latest training state, `last.pt` in its checkpoint folder."""
        return self.run_checkpoints(dataset, run_name, digest) / LAST_STATE_FILE

    def weights(self, dataset: str) -> Path:
        """`models/<dataset>/weights/`: each finished run's inference weights, DVC-cached (to the remote)."""
        return self.models(dataset) / "weights"

    def run_weights(self, dataset: str, run_name: str, digest: str) -> Path:
        """One run's sealed inference weights, the file evaluate, render and a worker's clone read."""
        return self.weights(dataset) / f"{run_name}-{digest}" / WEIGHTS_FILE

    def run_snapshots(self, dataset: str, run_name: str, digest: str) -> Path:
        """One sealed run's snapshots over training (`train.snapshots`), beside its weights."""
        return self.run_weights(dataset, run_name, digest).parent / SNAPSHOTS_DIR

    def registered(self, dataset: str) -> Path:
        return self.models(dataset) / "registered.json"

    @property
    def metrics_root(self) -> Path:
        return self.root / "metrics"

    def metrics(self, dataset: str) -> Path:
        return self.metrics_root / dataset

    def scores(self, dataset: str) -> Path:
        return self.metrics(dataset) / "scores.json"

    def over_training(self, dataset: str) -> Path:
        """`metrics/<dataset>/over_training.json`: every run's scores at its snapshots and at its end."""
        return self.metrics(dataset) / "over_training.json"

    def over_training_runs(self, dataset: str) -> Path:
        """`metrics/<dataset>/over_training/`: one file of rows per run, what `dvc plots show` draws."""
        return self.metrics(dataset) / "over_training"

    def table_json(self, dataset: str) -> Path:
        """`metrics/<dataset>/table.json`: the comparison table, scores as fractions."""
        return self.metrics(dataset) / TABLE_JSON_FILE

    def table_markdown(self, dataset: str) -> Path:
        """`metrics/<dataset>/table.md`: the comparison table as Markdown."""
        return self.metrics(dataset) / TABLE_MARKDOWN_FILE

    def table_details(self, dataset: str) -> Path:
        return self.metrics(dataset) / "table_details.json"

    def plots(self, dataset: str) -> Path:
        return self.root / "plots" / dataset

    def plots_index(self, dataset: str) -> Path:
        """`plots/<dataset>/index.json`: every picture the render stage drew, and the comparison rows."""
        return self.plots(dataset) / "index.json"

    def report(self, dataset: str) -> Path:
        """`reports/<dataset>/index.html`: the static HTML report."""
        return self.root / "reports" / dataset / "index.html"

    def results_doc(self, name: str) -> Path:
        """`docs/results/<name>.md`: the committed result of a config run (`configs/<name>.yaml`)."""
        return self.root / "docs" / "results" / f"{name}.md"

    def results_data(self, name: str) -> Path:
        """`docs/results/data/<name>/`: the result files a committed result's tables are generated from."""
        return self.root / "docs" / "results" / "data" / name

    @property
    def mlflow_db(self) -> Path:
        """The default tracking store: the repository's, also for a DVC experiment copy (`workspace_of`)."""
        return workspace_of(self.root) / "mlflow.db"

    @property
    def mlruns(self) -> Path:
        """The default artifact root, beside `mlflow_db`."""
        return workspace_of(self.root) / "mlruns"

    @property
    def prefect_home(self) -> Path:
        return self.root / ".prefect"
