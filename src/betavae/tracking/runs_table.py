"""The table of a sweep's runs: one row per run with its parameters and headline scores.

One home for the table that MLflow (`log_table` on the sweep's parent run), the Prefect artifact, the
DVC plot data (`curves/runs.csv`) and the HTML report all show, and for the points of the sweep plots.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from betavae.io import atomic_path
from betavae.tracking.sweep_record import RunRecord

#: Score key -> display name of the disentanglement metrics, in the order they are drawn.
DISENTANGLEMENT = {
    "beta_vae.eval_accuracy": "BetaVAE score",
    "factor_vae.eval_accuracy": "FactorVAE score",
    "mig.score": "MIG",
    "dci.disentanglement": "DCI disentanglement",
    "sap.score": "SAP",
    "modularity.modularity": "Modularity",
    "udr.spearman": "UDR (Spearman)",
}
RECONSTRUCTION = "reconstruction.log_likelihood"


@dataclass(frozen=True)
class SweepPoint:
    """One finished run of a sweep with its scores."""

    run: str
    objective: str
    beta: float
    seed: int
    scores: Mapping[str, float]
    latent_dim: int = 0  # model.latent_dim; 0 where the row does not say


#: Parameter columns (`RunConfig.flat_params` keys) shown for every run.
PARAM_COLUMNS = (
    "train.objective",
    "train.beta",
    "train.seed",
    "train.steps",
    "train.lr",
    "train.batch_size",
    "model.architecture",
    "model.latent_dim",
)
#: Score columns after the disentanglement metrics.
EXTRA_SCORES = (
    "dci.completeness",
    "dci.informativeness",
    RECONSTRUCTION,
    "reconstruction.elbo",
    "reconstruction.kl",
    "reconstruction.active_latents_kl",
)


def comparison_rows(
    records: Sequence[RunRecord],
    scores: Mapping[str, Mapping[str, float]],
) -> list[dict[str, Any]]:
    """One row per run of the sweep record, in sweep order: name, status, parameters, scores (None if absent)."""
    score_columns = [*DISENTANGLEMENT, *EXTRA_SCORES]
    rows = []
    for record in records:
        flat = record.run.flat_params()
        own = scores.get(record.name, {})
        row: dict[str, Any] = {"run": record.name, "status": record.status, "run_id": record.run_id}
        row.update({key: flat.get(key) for key in PARAM_COLUMNS})
        if row["train.beta"] is None:  # `vae` and `ae` fix the KL's weight (1 and 0) rather than take a beta
            row["train.beta"] = getattr(record.run.objective, "kl_weight", None)
        for key in score_columns:
            value = own.get(key)
            row[key] = float(value) if value is not None and math.isfinite(float(value)) else None
        rows.append(row)
    present = [k for k in score_columns if any(r[k] is not None for r in rows)]
    return [{k: v for k, v in r.items() if k not in score_columns or k in present} for r in rows]


def configuration_of(run_name: str) -> str:
    """A run's configuration: its name without the seed (`beta_vae-beta=4-seed=1` -> `beta_vae-beta=4`)."""
    return re.sub(r"-?seed=\d+", "", run_name) or run_name


def representative_run(
    members: Sequence[Mapping[str, Any]], score: str = "mig.score", reconstruction: str = RECONSTRUCTION
) -> str | None:
    """The run that represents a configuration by the rule of Stühmer et al. 2020 (Sec. 5, Figs. 8-16):
    among the runs in the upper 50 % quantile of `score` (MIG is bimodal: a model disentangles or it does
    not), the one nearest, in Mahalanobis distance with the per-axis variance, to the mean of (`score`,
    `reconstruction`) over those runs. None when a run lacks either value."""
    points = [(m.get(score), m.get(reconstruction)) for m in members]
    if not points or not all(isinstance(a, float) and isinstance(b, float) for a, b in points):
        return None
    values = np.asarray(points, dtype=float)
    upper = values[:, 0] >= np.quantile(values[:, 0], 0.5)
    top = values[upper]
    spread = top.var(axis=0)
    spread[spread == 0] = 1.0  # an axis on which the upper runs agree ranks none of them
    distance = (((top - top.mean(axis=0)) ** 2) / spread).sum(axis=1)
    names = [str(m["run"]) for m, keep in zip(members, upper, strict=True) if keep]
    return names[int(np.argmin(distance))]


def configuration_summary(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per configuration of the finished runs (seeds pooled), in sweep order: the number of seeds, for
    each score every seed has the mean, the standard deviation over seeds and the range (min, max), and
    the representative run (:func:`representative_run`) where MIG and reconstruction were scored."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        if row.get("status") == "finished":
            groups.setdefault(configuration_of(str(row["run"])), []).append(row)
    out = []
    for config, members in groups.items():
        entry: dict[str, Any] = {"configuration": config, "seeds": len(members)}
        for key in (*DISENTANGLEMENT, RECONSTRUCTION):
            values = [m.get(key) for m in members]
            if values and all(isinstance(v, float) for v in values):
                array = np.asarray(values, dtype=float)
                entry[key] = {
                    "mean": float(array.mean()),
                    "std": float(array.std()),
                    "min": float(array.min()),
                    "max": float(array.max()),
                }
        representative = representative_run(members)
        if representative is not None:
            entry["representative"] = representative
        out.append(entry)
    return out


def sweep_points(rows: Sequence[Mapping[str, Any]]) -> list[SweepPoint]:
    """The finished runs as points of the sweep plots."""
    return [
        SweepPoint(
            run=r["run"],
            objective=str(r["train.objective"]),
            beta=float(r["train.beta"] or 0.0),
            seed=int(r["train.seed"] or 0),
            latent_dim=int(r.get("model.latent_dim") or 0),
            scores={
                k: v
                for k, v in r.items()
                if isinstance(v, float) and "." in k and not k.startswith(("train.", "model."))
            },
        )
        for r in rows
        if r["status"] == "finished"
    ]


def rows_to_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """CSV text with a header of every column (empty cells for missing scores)."""
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: ("" if v is None else v) for k, v in r.items()} for r in rows)
    return out.getvalue()


def write_csv(path: Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    """Write `rows` as CSV, atomically."""
    with atomic_path(Path(path)) as tmp:
        tmp.write_text(rows_to_csv(rows))
    return Path(path)


def markdown_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """A Markdown table of `columns` (floats to 4 significant digits, missing values as a dash)."""

    def cell(v: Any) -> str:
        return "-" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def summary_markdown(
    dataset: str,
    rows: Sequence[Mapping[str, Any]],
    experiment_link: str,
    run_links: Mapping[str, str],
    title: str = "rendered sweep",
) -> str:
    """The Markdown of a sweep flow's Prefect artifact: links into MLflow, then the comparison table."""
    linked = [{**r, "run": f"[{r['run']}]({run_links[r['run']]})" if r["run"] in run_links else r["run"]} for r in rows]
    columns = [c for c in (rows[0] if rows else {}) if c != "run_id"]
    return (
        f"# {dataset}: {title}\n\n[All runs in MLflow]({experiment_link}) \u00b7 pictures in "
        f"`plots/{dataset}/`, report in `reports/{dataset}/index.html`\n\n" + markdown_table(linked, columns)
    )
