"""A run's evaluation on its MLflow page: scores as metrics, the evaluate settings as parameters, and the
notes (the estimator behind each score, every metric skipped and why) as tags `betavae.estimator.*` and
`betavae.skipped.*`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mlflow.tracking import MlflowClient

from betavae.config import EvaluateConfig
from betavae.tracking.client import RunLogger
from betavae.tracking.tags import note_tag

TAG_VALUE_CHARS = 5000  # MLflow tag values hold at most 5000 characters


def log_scores(client: MlflowClient, run_id: str, scores: Mapping[str, float], step: int, cfg: EvaluateConfig) -> None:
    """Log a run's scores at `step` (its last training step) and the settings that produced them."""
    logger = RunLogger(client, run_id)
    logger.log_metrics(scores, step=step)
    logger.log_params(
        {f"evaluate.{name}.{k}": v for name, kw in cfg.metrics.items() for k, v in kw.items()}
        | {"evaluate.seed": cfg.seed, "evaluate.profile": cfg.profile}
    )


def log_selection(
    client: MlflowClient, run_id: str, scores: Mapping[str, float], notes: Mapping[str, str], step: int
) -> None:
    """The scores computed across the sweep (UDR, `udr.*`) and the notes of one run."""
    logger = RunLogger(client, run_id)
    udr = {k: v for k, v in scores.items() if k.startswith("udr.")}
    if udr:
        logger.log_metrics(udr, step=step)
    logger.set_tags({note_tag(k): v[:TAG_VALUE_CHARS] for k, v in notes.items()})


def log_curve(client: MlflowClient, run_id: str, points: Sequence[Mapping[str, float]], last_step: int) -> None:
    """Scores over training as step metrics of the run, under the names of its final scores: MLflow's
    chart of `mig.score` then shows the snapshots and the final value (logged by :func:`log_scores`)."""
    logger = RunLogger(client, run_id)
    for point in points:
        if int(point["step"]) < last_step:
            logger.log_metrics({k: v for k, v in point.items() if k not in ("step", "images")}, step=int(point["step"]))
