"""The data step of the retraining loop: make `data/datasets/<name>` present and validated on this machine.

With a DVC remote configured (`dvc remote add -d ...`), the outputs of `acquire@<name>` are pulled from
it (the version `dvc.lock` names); otherwise, or for procedural data the remote lacks, `dvc repro
validate@<name>` builds them here. Either way `validate@<name>` (Great Expectations) then runs.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from betavae.data.storage.layout import MANIFEST_FILE
from betavae.errors import DataError
from betavae.paths import ProjectPaths
from pipelines.common import environment_with_this_python


def _dvc(root: Path, *args: str, check: bool = True, timeout: float = 3600) -> subprocess.CompletedProcess:
    env = environment_with_this_python()
    exe = shutil.which("dvc", path=env["PATH"]) or "dvc"
    proc = subprocess.run([exe, *args], cwd=root, capture_output=True, text=True, timeout=timeout, env=env)
    if check and proc.returncode != 0:
        raise DataError(f"dvc {' '.join(args)} failed in {root}:\n{(proc.stdout + proc.stderr)[-3000:]}")
    return proc


def has_remote(root: Path) -> bool:
    """Whether the clone has a DVC remote to pull from."""
    return bool(_dvc(root, "remote", "list").stdout.strip())


def ensure_dataset(name: str, root: Path, refresh: bool = False) -> str:
    """Pull (or build) and validate dataset `name`; returns how: `present`, `pulled` or `built`.

    Without `refresh`, a dataset already validated here is used as it is (a `train-one` run on a worker
    whose clone holds it); with it, DVC brings the version `dvc.lock` names.
    """
    paths = ProjectPaths(root)
    if not refresh and (paths.dataset(name) / MANIFEST_FILE).is_file() and paths.validation(name).is_dir():
        return "present"
    how = "built"
    if has_remote(root) and _dvc(root, "pull", f"acquire@{name}", check=False).returncode == 0:
        how = "pulled"
    _dvc(root, "repro", f"validate@{name}")
    return how
