"""Assemble the report page: Fig. 5 (left) table, sortable run comparison, pictures, data checks, lineage.

Pure function of its inputs: the same inputs give the same bytes. Pictures are embedded as data URIs, for
at most :data:`EMBEDDED_RUNS` runs (about 1.5 MB of pictures each), so the page of a 1,000-run sweep stays
a few MB; every other run gets a page of its own (:func:`run_page`) that links to the render stage's files
instead of copying them.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from betavae.report.assets import SORT_SCRIPT, STYLE
from betavae.tracking.runs_table import DISENTANGLEMENT, RECONSTRUCTION, configuration_summary

MIME = {".png": "image/png", ".gif": "image/gif"}
#: Runs whose pictures the summary page embeds (the champion first, then each configuration's
#: representative run); the others have pages of their own.
EMBEDDED_RUNS = 8
#: Display order and captions of a run's pictures.
RUN_PICTURES = {
    "traversal": "Latent traversals (rows sorted by KL)",
    "traversal_gif": "Traversal animation",
    "reconstructions": "Inputs and reconstructions",
    "prior_samples": "Samples from the prior",
    "kl_per_latent": "KL per latent",
    "losses": "Loss terms over steps",
    "factor_response": "Mean activation per factor (Higgins et al. 2017 Fig. 6)",
    "latent_scatter": "Latent means (2-latent model)",
    "decoded_grid": "Decoded grid over the latent plane (Levy et al. 2020 Fig. 7)",
    "snapshots": "Over training: reconstructions and prior samples per snapshot (Baklazhenko et al. 2023)",
}
SWEEP_PICTURES = {
    "sweep_tradeoff": "Disentanglement against reconstruction, mean \u00b1 s.e. per \u03b2 (Stuhmer et al. Fig. 5b)",
    "metric_vs_beta": "Disentanglement against \u03b2 (seeds as error bars)",
    "score_distribution": "Scores over seeds per configuration (Stuhmer et al. 2020 Fig. 5a)",
    "normalised_beta": "Normalised \u03b2 against latent size (Higgins et al. 2017 Fig. 5 right)",
    "over_training": "Disentanglement over training (mean over seeds, band = range)",
}


@dataclass
class ReportInputs:
    """Everything the page shows; paths of pictures are absolute."""

    dataset: str
    comparison: Sequence[Mapping[str, Any]]
    run_pictures: Mapping[str, Mapping[str, Path]]
    sweep_pictures: Mapping[str, Path]
    table: Mapping[str, Any] | None = None
    validation: Mapping[str, Any] | None = None
    validation_docs: str | None = None
    lineage: Mapping[str, Any] | None = None
    lineage_error: str | None = None
    links: Mapping[str, str] = field(default_factory=dict)  # run name (or "experiment") -> MLflow UI URL
    columns: Sequence[str] = ()  # order of the comparison's columns (default: the first row's)
    run_pages: Mapping[str, str] = field(default_factory=dict)  # run name -> its own page, relative to the report


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def data_uri(path: Path) -> str:
    """The file as a base64 data URI (PNG or GIF)."""
    return f"data:{MIME[Path(path).suffix]};base64,{base64.b64encode(Path(path).read_bytes()).decode('ascii')}"


def _figure(path: Path, caption: str) -> str:
    return f'<figure><img src="{data_uri(path)}" alt="{_e(caption)}"><figcaption>{_e(caption)}</figcaption></figure>'


def _run_figures(pics: Mapping[str, Path]) -> str:
    return "".join(_figure(pics[k], RUN_PICTURES[k]) for k in RUN_PICTURES if k in pics)


def pictures_section(run_pictures: Mapping[str, Mapping[str, Path]], run_pages: Mapping[str, str]) -> str:
    """The embedded runs' pictures, then a link to the page of each other run."""
    embedded = "".join(
        f"<h3>{_e(run)}</h3>{_run_figures(pics)}" for run, pics in run_pictures.items() if run not in run_pages
    )
    if not run_pages:
        return embedded or "<p>No run pictures.</p>"
    links = "".join(f'<li><a href="{_e(quote(href))}">{_e(run)}</a></li>' for run, href in run_pages.items())
    return (
        f"{embedded}<p>{len(run_pages)} more runs; their pictures are on pages of their own, which show the "
        f'render stage\'s files where they are:</p><ul id="run-pages">{links}</ul>'
    )


def run_page(dataset: str, run: str, pictures: Mapping[str, str], report_link: str) -> str:
    """One run's pictures on a page of its own; `pictures` maps each kind to its path relative to the page."""
    figures = "".join(
        f'<figure><img src="{_e(quote(pictures[k]))}" alt="{_e(caption)}"><figcaption>{_e(caption)}</figcaption>'
        "</figure>"
        for k, caption in RUN_PICTURES.items()
        if k in pictures
    )
    title = f"betavae: {_e(dataset)}: {_e(run)}"
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f'<style>{STYLE}</style></head><body><h1>{title}</h1><p><a href="{_e(quote(report_link))}">'
        f"back to the report</a></p>{figures or '<p>No pictures.</p>'}</body></html>\n"
    )


def _cell(value: Any) -> str:
    if value is None:
        return '<td data-value="">-</td>'
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f'<td class="text">{_e(value)}</td>'
    shown = f"{value:.4g}" if isinstance(value, float) else str(value)
    return f'<td data-value="{value!r}">{shown}</td>'


def fig5_table(table: Mapping[str, Any]) -> str:
    """Higgins et al. 2017 Fig. 5 (left): each model's score, mean +- std over the kept runs, in percent,
    with the training budget behind each row."""
    if table.get("skipped") and not table.get("rows"):
        return f"<p>Skipped: {_e(table['skipped'])}</p>"
    rows = "".join(
        f'<tr><td class="text">{_e(r["model"])}</td><td>{100 * r["mean"]:.2f} &plusmn; {100 * r["std"]:.2f}</td>'
        f"<td>{r.get('num_scores', 1)}</td><td>{r.get('replicas', 1)}</td><td>{r.get('steps', 0)}</td>"
        f'<td>{r.get("epochs", 0.0):.3g}</td><td class="text">{_e(r.get("note", ""))}</td></tr>'
        for r in table["rows"]
    )
    protocol = f" Protocol: {_e(table['protocol'])}." if table.get("protocol") else ""
    return (
        f'<p>Score: {_e(table.get("score", ""))}.{protocol}</p><table id="fig5-table"><thead><tr>'
        '<th class="text">Model</th><th>Score (%)</th><th>Scores pooled</th><th>Replicas</th><th>Steps</th>'
        f'<th>Epochs</th><th class="text">Note</th></tr></thead><tbody>{rows}</tbody></table>'
    )


def configuration_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """Each configuration with its seeds pooled: mean &plusmn; standard deviation over seeds, and the range."""
    summary = configuration_summary(rows)
    if not summary:
        return "<p>No finished runs.</p>"
    scores = [k for k in (*DISENTANGLEMENT, RECONSTRUCTION) if any(k in e for e in summary)]
    head = "".join(f"<th>{_e(DISENTANGLEMENT.get(k, k))}</th>" for k in scores)
    body = "".join(
        f'<tr><td class="text">{_e(e["configuration"])}</td><td>{e["seeds"]}</td>'
        + "".join(
            f"<td>{e[k]['mean']:.3f} &plusmn; {e[k]['std']:.3f} [{e[k]['min']:.3f}, {e[k]['max']:.3f}]</td>"
            if k in e
            else "<td>-</td>"
            for k in scores
        )
        + f'<td class="text">{_e(e.get("representative", "-"))}</td></tr>'
        for e in summary
    )
    return (
        "<p>Mean &plusmn; standard deviation over seeds [min, max]. Representative run: of the runs in the upper "
        "half by MIG, the one nearest their mean MIG and reconstruction (Mahalanobis distance; Stühmer et al. "
        "2020, Sec. 5).</p>"
        f'<table id="configurations-table"><thead><tr><th class="text">Configuration</th><th>Seeds</th>{head}'
        '<th class="text">Representative run</th></tr>'
        f"</thead><tbody>{body}</tbody></table>"
    )


def comparison_table(rows: Sequence[Mapping[str, Any]], links: Mapping[str, str], order: Sequence[str] = ()) -> str:
    """Every run with its parameters and scores; click a header to sort."""
    if not rows:
        return "<p>No runs.</p>"
    columns = [c for c in (order or rows[0]) if c != "run_id"]
    head = "".join(f'<th class="text">{_e(c)}</th>' if c in ("run", "status") else f"<th>{_e(c)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for c in columns:
            if c == "run" and row["run"] in links:
                cells.append(
                    f'<td class="text" data-value="{_e(row["run"])}"><a href="{_e(links[row["run"]])}">'
                    f"{_e(row['run'])}</a></td>"
                )
            else:
                cells.append(_cell(row[c]))
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<table id="runs-table" class="sortable"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    )


def validation_section(summary: Mapping[str, Any] | None, docs: str | None) -> str:
    if summary is None:
        return "<p>No validation summary found.</p>"
    verdict = '<span class="ok">passed</span>' if summary.get("success") else '<span class="bad">failed</span>'
    outcomes = summary.get("outcomes", [])
    rows = "".join(
        f'<tr><td class="text">{_e(o.get("expectation"))}</td><td class="text">{_e(o.get("target", ""))}</td>'
        f'<td class="text">{"yes" if o.get("success") else "NO"}</td>'
        f'<td class="text">{_e("" if o.get("observed") is None else o.get("observed"))}</td></tr>'
        for o in outcomes
    )
    link = f' Full Great Expectations Data Docs: <a href="{_e(docs)}">{_e(docs)}</a>.' if docs else ""
    return (
        f"<p>Dataset <b>{_e(summary.get('dataset'))}</b>: {summary.get('num_rows')} rows, "
        f"{len(outcomes)} expectations, {verdict} in {summary.get('seconds', 0):.1f} s.{link}</p>"
        '<table id="validation-table"><thead><tr><th class="text">Expectation</th><th class="text">Target</th>'
        f'<th class="text">Held</th><th class="text">Observed</th></tr></thead><tbody>{rows}</tbody></table>'
    )


def lineage_section(lineage: Mapping[str, Any] | None, error: str | None, links: Mapping[str, str]) -> str:
    if lineage is None:
        return f"<p>No registered champion: {_e(error or 'the register stage has not run')}.</p>"
    facts = [
        ("Registered model", f"{lineage['model']} version {lineage['version']} (alias {lineage['alias']})"),
        ("URI", lineage.get("uri")),
        ("Chosen by", f"{lineage.get('metric')} = {lineage.get('value')}"),
        ("Source run", f"{lineage['run_name']} ({lineage['run_id']}, {lineage['status']})"),
        ("Sweep", f"{lineage.get('sweep_name')} ({lineage.get('sweep_run_id')})"),
        ("Git commit", lineage.get("git_commit")),
        ("Dataset", f"{lineage.get('dataset')} (digest {lineage.get('dataset_digest')})"),
    ]
    facts += [
        (f"Input {d['name']}", f"digest {d['digest']}, source {d['source']}") for d in lineage.get("dataset_inputs", [])
    ]
    facts += [(k, v) for k, v in lineage.get("params", {}).items()]
    items = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts)
    link = links.get(lineage["run_name"])
    more = f'<p><a href="{_e(link)}">Open the source run in MLflow</a></p>' if link else ""
    return f'<dl class="lineage" id="lineage-facts">{items}</dl>{more}'


def build_page(inputs: ReportInputs) -> str:
    """The whole HTML document."""
    ds = _e(inputs.dataset)
    sections = [
        (
            "fig5",
            "Disentanglement metric score (Higgins et al. 2017, Fig. 5 left)",
            fig5_table(inputs.table) if inputs.table else "<p>No comparison table found.</p>",
        ),
        ("configurations", "By configuration (seeds pooled)", configuration_table(inputs.comparison)),
        ("runs", "Every run", comparison_table(inputs.comparison, inputs.links, inputs.columns)),
        (
            "sweep",
            "Sweep",
            "".join(_figure(p, SWEEP_PICTURES.get(k, k)) for k, p in inputs.sweep_pictures.items())
            or "<p>No sweep plots.</p>",
        ),
        (
            "pictures",
            "Pictures of each run",
            pictures_section(inputs.run_pictures, inputs.run_pages),
        ),
        ("validation", "Data validation", validation_section(inputs.validation, inputs.validation_docs)),
        (
            "lineage",
            "Registered champion and its lineage",
            lineage_section(inputs.lineage, inputs.lineage_error, inputs.links),
        ),
    ]
    nav = "".join(f'<a href="#{sid}">{_e(title.split(" (")[0])}</a>' for sid, title, _ in sections)
    experiment = inputs.links.get("experiment")
    mlflow = f' &middot; <a href="{_e(experiment)}">runs in MLflow</a>' if experiment else ""
    body = "".join(
        f'<section id="sec-{sid}"><h2 id="{sid}">{_e(title)}</h2>{content}</section>'
        for sid, title, content in sections
    )
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>betavae: {ds}</title>'
        f"<style>{STYLE}</style></head><body><h1>betavae: {ds}</h1>"
        f"<p>{len(inputs.comparison)} runs{mlflow}</p><nav>{nav}</nav>{body}"
        f"<script>{SORT_SCRIPT}</script></body></html>\n"
    )
