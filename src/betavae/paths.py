"""Every path of a project checkout, in one place.

```
params.yaml                                   the pipeline's parameters
data/datasets/<name>/                         a stored dataset (betavae.data.storage layout)
data/validation/<name>/                       its Great Expectations Data Docs and summary
models/<dataset>/sweep.json                   the sweep record (betavae.tracking.sweep_record)
models/<dataset>/checkpoints/<run>-<digest>/  one run's checkpoints, resumable
models/<dataset>/registered.json              the registered champion
metrics/<dataset>/scores.json                 every run's scores (DVC metrics)
metrics/<dataset>/table.{json,md}             the comparison table; table_details.json its replicas
plots/<dataset>/                              rendered pictures
docs/results/<dataset>-fig5.md                a paper-scale table, committed
mlflow.db, mlruns/                            the default MLflow store
.prefect/                                     the temporary Prefect server's state
```
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from betavae.errors import ConfigError

ROOT_ENV = "BETAVAE_ROOT"
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
    """`$BETAVAE_ROOT` if set (a Prefect worker started elsewhere), else the working directory."""
    return Path(os.environ.get(ROOT_ENV) or Path.cwd()).resolve()


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

    def models(self, dataset: str) -> Path:
        return self.root / "models" / dataset

    def sweep_record(self, dataset: str) -> Path:
        return self.models(dataset) / "sweep.json"

    def checkpoints(self, dataset: str) -> Path:
        return self.models(dataset) / "checkpoints"

    def run_checkpoints(self, dataset: str, run_name: str, digest: str) -> Path:
        """One run's checkpoint folder; the config digest keeps a changed configuration from resuming."""
        return self.checkpoints(dataset) / f"{run_name}-{digest}"

    def weights(self, dataset: str) -> Path:
        """`models/<dataset>/weights/`: each finished run's inference weights, DVC-cached (to the remote)."""
        return self.models(dataset) / "weights"

    def run_weights(self, dataset: str, run_name: str, digest: str) -> Path:
        """One run's sealed inference weights, the file evaluate, render and a worker's clone read."""
        return self.weights(dataset) / f"{run_name}-{digest}" / "final.pt"

    def registered(self, dataset: str) -> Path:
        return self.models(dataset) / "registered.json"

    @property
    def metrics_root(self) -> Path:
        return self.root / "metrics"

    def metrics(self, dataset: str) -> Path:
        return self.metrics_root / dataset

    def scores(self, dataset: str) -> Path:
        return self.metrics(dataset) / "scores.json"

    def table_details(self, dataset: str) -> Path:
        return self.metrics(dataset) / "table_details.json"

    def plots(self, dataset: str) -> Path:
        return self.root / "plots" / dataset

    def results_doc(self, dataset: str) -> Path:
        """`docs/results/<dataset>-fig5.md`: a committed paper-scale table."""
        return self.root / "docs" / "results" / f"{dataset}-fig5.md"

    @property
    def mlflow_db(self) -> Path:
        return self.root / "mlflow.db"

    @property
    def mlruns(self) -> Path:
        return self.root / "mlruns"

    @property
    def prefect_home(self) -> Path:
        return self.root / ".prefect"
