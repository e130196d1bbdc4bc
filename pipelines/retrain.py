"""The retraining loop as one Prefect flow: data -> train sweep -> evaluate -> render -> register.

    python -m pipelines.retrain dsprites          # locally: configurations trained in-process

Deployed by `pipelines/prefect.yaml` per dataset on the work pool `gpu` with a cron schedule: the sweep
then fans out over the GPU workers (one `train-one` flow run per configuration), and the best run becomes
`betavae-<dataset>@champion` only if it beats the version in service (`betavae.tracking.promotion`). Each step
calls the same functions as the `dvc.yaml` stage of the same name.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from pipelines.common import ROOT, main_guard, show_library_logs
from pipelines.dataset_arg import dataset_argument


@task(cache_policy=NO_CACHE, retries=1, retry_delay_seconds=10)
def fetch_data(dataset: str, root: Path) -> str:
    """`dvc pull` the dataset from the configured remote (or build procedural data), then validate it."""
    from pipelines.data import ensure_dataset

    return ensure_dataset(dataset, root, refresh=True)


@task(cache_policy=NO_CACHE)
def register(dataset: str, root: Path) -> dict[str, Any]:
    from pipelines.register import register_dataset

    return register_dataset(dataset, root)


#: The whole retrain (data, a sweep on the workers, evaluation, pictures, registration) ends TimedOut
#: after this long, so a stuck night shows as a failed run before the next one is due.
TIMEOUT_S = 20 * 3600


@flow(name="retrain", log_prints=True, timeout_seconds=TIMEOUT_S)
def retrain(
    dataset: str,
    overrides: dict[str, Any] | None = None,
    root: str | None = None,
    train_deployment: str | None = None,
    wait_timeout_s: float = 16 * 3600,
) -> dict[str, Any]:
    """Retrain `dataset`'s sweep with `overrides` of `params.yaml` sections and register the best run.

    `train_deployment` (e.g. `train-one/train-one`) sends each configuration to the GPU workers; without
    it the configurations train in this process. Configurations no worker finished within
    `wait_timeout_s` seconds (none online, or stuck) are cancelled and the retrain fails, saying so.
    Returns the registration (version, alias, metric value).
    """
    from pipelines.evaluate import evaluate_sweep
    from pipelines.render import render_sweep
    from pipelines.train import train_sweep

    show_library_logs()
    project = Path(root or ROOT)
    how = fetch_data(dataset, project)
    print(f"data {dataset}: {how}")
    train_sweep(dataset, str(project), overrides, deployment=train_deployment, wait_timeout_s=wait_timeout_s)
    evaluate_sweep(dataset, str(project), overrides)
    render_sweep(dataset, str(project))
    entry = register(dataset, project)
    print(f"{entry['name']} version {entry['version']} @{entry['alias']}: {entry['metric']} = {entry['value']:.4f}")
    return entry


if __name__ == "__main__":
    main_guard(retrain, dataset_argument(sys.argv), flow=True)
