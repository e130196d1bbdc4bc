"""The promotion gate: a sweep's best run becomes a new version of `betavae-<dataset>`, and takes the alias
`champion` only when it beats the version in service on the dataset's metric (else `challenger`).

Rules (one place, used by `dvc repro`'s register stage and the retraining flow alike):
- only FINISHED runs with a finite value of the metric are candidates (a diverged or failed run never is);
- registering a run that already has a version returns that version and creates none
  (versions are looked up by the `betavae.run_id` tag);
- the first version of a model becomes champion; later ones only when strictly better than the champion's
  value of the same metric (read from the champion's own tags), so a tie keeps the model in service;
- two register calls at once leave consistent aliases: calls on one machine are serialised by a file lock
  beside the tracking store, and every call re-reads the champion after moving an alias and corrects it
  until the best of the competing versions holds `champion` (this covers callers on other machines too).
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from betavae import faults
from betavae.errors import DataError
from betavae.tracking.registry import model_name, model_uri
from betavae.tracking.sweep_record import RunRecord
from betavae.tracking.tags import (
    CONFIG_DIGEST_TAG,
    DATASET_DIGEST_TAG,
    DATASET_TAG,
    GIT_COMMIT_SOURCE_TAG,
    GIT_COMMIT_TAG,
    LIBRARY_PREFIX,
    METRIC_MODE_TAG,
    METRIC_TAG,
    METRIC_VALUE_TAG,
    PARAM_PREFIX,
    REGISTERED_RUN_NAME_TAG,
    RUN_ID_TAG,
    RUN_NAME_TAG,
    SCORE_PREFIX,
)

CHAMPION = "champion"
CHALLENGER = "challenger"
LIBRARIES = ("betavae", "torch", "numpy", "mlflow", "prefect", "dvc")
SETTLE_ROUNDS = 20


@dataclass(frozen=True)
class Registration:
    """What one register call did: the version (new or existing) and the alias it holds."""

    name: str
    version: int
    alias: str
    created: bool
    run_id: str
    run_name: str
    metric: str
    value: float
    previous_champion: int | None
    uri: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def beats(value: float, incumbent: float | None, mode: str) -> bool:
    """Whether `value` strictly improves on `incumbent` (None: there is nothing to beat)."""
    if incumbent is None or not math.isfinite(incumbent):
        return True
    return value > incumbent if mode == "max" else value < incumbent


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries a model's behaviour depends on."""
    versions = {}
    for lib in LIBRARIES:
        try:
            versions[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            versions[lib] = "absent"
    return versions


def lock_path(client: MlflowClient, name: str) -> Path:
    """The lock file of model `name`: in `BETAVAE_LOCK_DIR` (a folder shared by the machines that register,
    if there is one), else beside a sqlite store, else in the system's temp folder."""
    uri = client.tracking_uri
    if os.environ.get("BETAVAE_LOCK_DIR"):
        folder = Path(os.environ["BETAVAE_LOCK_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
    elif uri.startswith("sqlite:///"):
        folder = Path(uri.removeprefix("sqlite:///")).resolve().parent
    else:
        folder = Path(tempfile.gettempdir())
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{uri}-{name}")[-120:]
    return folder / f".betavae-register-{safe}.lock"


@contextlib.contextmanager
def registry_lock(client: MlflowClient, name: str, timeout: float = 300.0) -> Iterator[None]:
    """Serialise register calls for `name` across processes of this machine."""
    from filelock import FileLock, Timeout

    path = lock_path(client, name)
    try:
        with FileLock(str(path), timeout=timeout):
            faults.reached("registry-locked")
            yield
    except Timeout as exc:
        raise DataError(f"could not take the registry lock {path} within {timeout:.0f} s") from exc


def _versions_of_run(client: MlflowClient, name: str, run_id: str) -> list[ModelVersion]:
    found = client.search_model_versions(f"name = '{name}' and tags.`{RUN_ID_TAG}` = '{run_id}'")
    return sorted(found, key=lambda v: int(v.version))


def _alias_version(client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def version_value(version: ModelVersion, metric: str) -> float | None:
    """The value of `metric` recorded on a model version (every score is a tag), or None."""
    tags = version.tags or {}
    raw = tags.get(SCORE_PREFIX + metric)
    if raw is None and tags.get(METRIC_TAG) == metric:
        raw = tags.get(METRIC_VALUE_TAG)
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def version_tags(
    run: Any, *, dataset: str, metric: str, mode: str, value: float, scores: Mapping[str, float]
) -> dict[str, str]:
    """Lineage of a model version: metric and value, every score, commit, data, run, config, params,
    library versions. `run` is the MLflow run the version was logged from."""
    run_tags = run.data.tags
    tags = {
        METRIC_TAG: metric,
        METRIC_VALUE_TAG: repr(float(value)),
        METRIC_MODE_TAG: mode,
        RUN_ID_TAG: run.info.run_id,
        REGISTERED_RUN_NAME_TAG: run_tags.get(RUN_NAME_TAG, run.info.run_name or ""),
        DATASET_TAG: dataset,
        DATASET_DIGEST_TAG: run_tags.get(DATASET_DIGEST_TAG, "unknown"),
        CONFIG_DIGEST_TAG: run_tags.get(CONFIG_DIGEST_TAG, "unknown"),
        GIT_COMMIT_TAG: run_tags.get(GIT_COMMIT_SOURCE_TAG, "unknown"),
    }
    tags |= {
        SCORE_PREFIX + k: repr(float(v))
        for k, v in scores.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    }
    tags |= {PARAM_PREFIX + k: str(v)[:5000] for k, v in run.data.params.items()}
    recorded = {k.removeprefix(LIBRARY_PREFIX): v for k, v in run_tags.items() if k.startswith(LIBRARY_PREFIX)}
    tags |= {LIBRARY_PREFIX + k: v for k, v in (recorded or library_versions()).items()}
    return tags


def model_card(dataset: str, tags: Mapping[str, str], scores: Mapping[str, float]) -> str:
    """A short Markdown model card, stored as the version's description."""
    p = {k.removeprefix(PARAM_PREFIX): v for k, v in tags.items() if k.startswith(PARAM_PREFIX)}
    numeric = {k: float(v) for k, v in scores.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    headline = [k for k in sorted(numeric) if not k.startswith("reconstruction.kl.")][:12]
    lines = [
        f"# {model_name(dataset)}: {p.get('train.objective', 'beta-VAE')} on {dataset}",
        "",
        f"Encoder/decoder of a beta-VAE (Higgins et al. 2017) trained on `{dataset}` "
        f"(digest `{tags[DATASET_DIGEST_TAG][:16]}`).",
        f"- architecture `{p.get('model.architecture', '?')}`, {p.get('model.latent_dim', '?')} latents, "
        f"beta = {p.get('train.beta', '?')}, {p.get('train.steps', '?')} steps of batch "
        f"{p.get('train.batch_size', '?')} ({p.get('train.optimizer', '?')}, lr {p.get('train.lr', '?')})",
        f"- selected by `{tags[METRIC_TAG]}` ({tags[METRIC_MODE_TAG]}) = {float(tags[METRIC_VALUE_TAG]):.4f}",
        f"- run `{tags[RUN_ID_TAG]}` ({tags[REGISTERED_RUN_NAME_TAG]}), commit `{tags[GIT_COMMIT_TAG][:12]}`, "
        f"config `{tags[CONFIG_DIGEST_TAG]}`",
        "",
        "Scores: " + ", ".join(f"{k} = {numeric[k]:.4f}" for k in headline),
        "",
        "Use: `predict(uint8 images (n, H, W, C))` -> latent means (n, d); "
        "`params={'method': 'decode'}` maps latents (n, d) -> images; `'reconstruct'` does both.",
    ]
    return "\n".join(lines)


def _settle_aliases(
    client: MlflowClient, name: str, version: int, value: float, metric: str, mode: str
) -> tuple[str, int | None]:
    """Give `version` the champion alias if it beats the champion, else challenger; re-check after each
    move so that concurrent callers converge on the best version as champion."""
    previous = _alias_version(client, name, CHAMPION)
    previous_number = int(previous.version) if previous else None
    for _ in range(SETTLE_ROUNDS):
        current = _alias_version(client, name, CHAMPION)
        if current is not None and int(current.version) == version:
            pass
        elif current is None or beats(value, version_value(current, metric), mode):
            client.set_registered_model_alias(name, CHAMPION, str(version))
        else:
            client.set_registered_model_alias(name, CHALLENGER, str(version))
            return CHALLENGER, previous_number
        time.sleep(random.uniform(0.05, 0.2))  # let a racing caller's write land before the re-check
        after = _alias_version(client, name, CHAMPION)
        if after is not None and int(after.version) == version:
            return CHAMPION, previous_number
    raise DataError(f"{name}: the champion alias kept moving during {SETTLE_ROUNDS} re-checks")


def register_run(
    client: MlflowClient,
    *,
    run_id: str,
    model_source: str,
    dataset: str,
    metric: str,
    mode: str,
    value: float,
    scores: Mapping[str, float],
) -> Registration:
    """Register the model logged by `run_id` as a version of `betavae-<dataset>` behind the promotion gate."""
    import mlflow

    name = model_name(dataset)
    if not math.isfinite(value):
        raise DataError(f"run {run_id}: {metric} = {value} is not finite; such a run is never registered")
    run = client.get_run(run_id)
    if run.info.status != "FINISHED":
        raise DataError(f"run {run_id} has status {run.info.status}; only FINISHED runs are registered")
    with registry_lock(client, name):
        existing = _versions_of_run(client, name, run_id)
        if existing:
            version = client.get_model_version(name, existing[0].version)  # search results omit aliases
            aliases = set(version.aliases or [])
            alias = CHAMPION if CHAMPION in aliases else CHALLENGER if CHALLENGER in aliases else ""
            return Registration(
                name,
                int(version.version),
                alias,
                False,
                run_id,
                version.tags.get(REGISTERED_RUN_NAME_TAG, ""),
                metric,
                value,
                None,
                f"models:/{name}/{version.version}",
            )
        tags = version_tags(run, dataset=dataset, metric=metric, mode=mode, value=value, scores=scores)
        created = mlflow.register_model(model_source, name, tags=tags)
        number = int(created.version)
        faults.reached("model-version-created")
        duplicates = _versions_of_run(client, name, run_id)
        if duplicates and int(duplicates[0].version) != number:  # a caller on another machine won the race
            client.delete_model_version(name, str(number))
            return register_run(
                client,
                run_id=run_id,
                model_source=model_source,
                dataset=dataset,
                metric=metric,
                mode=mode,
                value=value,
                scores=scores,
            )
        client.update_model_version(name, str(number), description=model_card(dataset, tags, scores))
        client.update_registered_model(
            name, description=f"beta-VAEs trained on {dataset}; `@{CHAMPION}` is the best by {metric} ({mode})."
        )
        alias, previous = _settle_aliases(client, name, number, value, metric, mode)
    return Registration(
        name,
        number,
        alias,
        True,
        run_id,
        tags[REGISTERED_RUN_NAME_TAG],
        metric,
        value,
        previous,
        model_uri(dataset, alias),
    )


def record_library_versions() -> dict[str, str]:
    """Run tags recording the training environment's library versions (copied onto model versions)."""
    return {LIBRARY_PREFIX + k: v for k, v in library_versions().items()}


def promote_best(
    client: MlflowClient,
    runs: Sequence[RunRecord],
    scores: Mapping[str, Mapping[str, float]],
    dataset: str,
    *,
    metric: str,
    mode: str,
) -> Registration:
    """Register the best finished run of a sweep (by `metric`, `mode`) behind the promotion gate."""
    from betavae.tracking.registry import choose_best

    best, value = choose_best(runs, scores, metric, mode)
    if not best.model_uri:
        raise DataError(f"run {best.name} has no logged model to register")
    return register_run(
        client,
        run_id=best.run_id,
        model_source=best.model_uri,
        dataset=dataset,
        metric=metric,
        mode=mode,
        value=value,
        scores=scores.get(best.name, {}),
    )
