"""Figures in README.md, docs/ and benchmarks/NOTES.md that stay true: each table of measured numbers is
generated from a committed result file, and `make check-docs` fails when the text and the file disagree.

    python -m betavae.report.results_docs            # check every generated block (what CI runs)
    python -m betavae.report.results_docs --write    # regenerate them from their result files

A generated block sits between two HTML comments that name its kind and its result file (relative to the
repository root)::

    <!-- figures: sweep docs/results/data/default-sweep -->
    ...generated Markdown...
    <!-- /figures -->

Kinds:

- ``sweep``: a folder holding a pipeline run's `scores.json` and `table.json` (copies of
  `metrics/<dataset>/`): each configuration with its seeds pooled (mean +- standard deviation [min, max])
  and the Fig. 5 (left) table with its baselines;
- ``convergence``: a `python -m benchmarks --sections convergence` JSON: each recipe's median curve over
  seeds and where the thresholds are reached;
- ``scale``: a `python -m benchmarks --sections scale` JSON: each stage's time, memory and output size
  against the sweep size;
- ``latents``: a folder holding a pipeline run's `scores.json`: per run, the latents active by KL and
  each latent's KL from the prior, largest first (Burgess et al. 2018 / Levy et al. 2020 Fig. 5 read
  their traversals by this order).

Every result file named must exist, and every document under docs/results/ must name the command and the
commit its figures were measured with (lines starting ``Command:`` and ``Commit:``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from betavae.errors import DataError
from betavae.evaluation.paper_scale import device_name
from betavae.io import read_json, write_bytes
from betavae.paths import ProjectPaths
from betavae.tracking.runs_table import DISENTANGLEMENT, RECONSTRUCTION, configuration_summary

BLOCK = re.compile(
    r"(?P<open><!-- figures: (?P<kind>[a-z_]+) (?P<source>\S+) -->\n)(?P<body>.*?)(?P<close><!-- /figures -->)",
    re.DOTALL,
)
DOCUMENTS = ("README.md", "docs/results/*.md", "benchmarks/NOTES.md")
PROVENANCE = (re.compile(r"^Command: .+", re.MULTILINE), re.compile(r"^Commit: [0-9a-f]{7,40}\b", re.MULTILINE))
SWEEP_SCORES = (
    "mig.score",
    "beta_vae.eval_accuracy",
    "factor_vae.eval_accuracy",
    "dci.disentanglement",
    RECONSTRUCTION,
)


def _spread(entry: Mapping[str, float], digits: int) -> str:
    f = f"{{:.{digits}f}}"
    return f"{f.format(entry['mean'])} ± {f.format(entry['std'])} [{f.format(entry['min'])}, {f.format(entry['max'])}]"


def sweep_markdown(folder: Path) -> str:
    """The configurations of a pipeline run (seeds pooled) and its Fig. 5 (left) table."""
    scores = read_json(folder / "scores.json")
    table = read_json(folder / "table.json")
    rows = [{"run": name, "status": "finished", **values} for name, values in scores.items()]
    summary = configuration_summary(rows)
    shown = [k for k in SWEEP_SCORES if any(k in e for e in summary)]
    label = {
        **DISENTANGLEMENT,
        "beta_vae.eval_accuracy": "BetaVAE score (the profile's protocol)",
        RECONSTRUCTION: "reconstruction (nats)",
    }
    lines = [
        "| configuration | seeds | " + " | ".join(label[k] for k in shown) + " |",
        "| --- | ---: |" + " ---: |" * len(shown),
    ]
    for e in summary:
        cells = [_spread(e[k], 1 if k == RECONSTRUCTION else 3) if k in e else "-" for k in shown]
        lines.append(f"| {e['configuration']} | {e['seeds']} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Fig. 5 (left) table, {table.get('score', 'score')} ({table.get('protocol', '')}):",
        "",
        "| model | score (%) | scores pooled | steps |",
        "| --- | ---: | ---: | ---: |",
    ]
    for row in table.get("rows", []):
        lines.append(
            f"| {row['model']} | {100 * row['mean']:.2f} ± {100 * row['std']:.2f} | "
            f"{row.get('num_scores', 1)} | {row.get('steps', 0):,} |"
        )
    return "\n".join(lines) + "\n"


def convergence_markdown(path: Path) -> str:
    """Each recipe of a convergence benchmark: median (range) over seeds against images seen, and the
    first snapshot where each threshold's median is reached."""
    result = read_json(path)
    result = result.get("convergence", result)  # a run stopped early leaves the bare `.partial.json`
    lines = [f"Seeds {result['seeds']}; MIG by {result['mig_estimator']}.", ""]
    for name, entry in result["recipes"].items():
        rates = ", ".join(f"{r['images_per_second']:,}" for r in entry["runs"])
        scores = [s for s in ("mig", "beta_vae") if entry["median"] and s in entry["median"][0]]
        lines += [
            f"`{name}` (images/s per seed: {rates})",
            "",
            "| images | training s | " + " | ".join("MIG" if s == "mig" else "BetaVAE (A.4)" for s in scores) + " |",
            "| ---: | ---: |" + " ---: |" * len(scores),
        ]
        for p in entry["median"]:
            cells = [f"{p[s]:.3f} [{p[s + '_min']:.3f}, {p[s + '_max']:.3f}]" for s in scores]
            lines.append(f"| {p['images']:,} | {p['train_s']:.0f} | " + " | ".join(cells) + " |")
        reached = [
            f"{threshold}: {hit['images']:,} images, {hit['train_s']:.0f} s"
            if hit["reached"]
            else f"{threshold}: not reached (best median {hit['best_median']})"
            for threshold, hit in entry["reached"].items()
        ]
        lines += ["", "Median " + "; ".join(reached) + ".", ""]
    return "\n".join(lines)


def scale_markdown(path: Path) -> str:
    """A `--sections scale` benchmark: each stage's wall seconds, peak memory and output size against the
    sweep size N, the per-run growth between the two largest N, and the checks made at each N."""
    result = read_json(path)
    result = result.get("scale", result)
    sizes = result["sizes"]
    head = " | ".join(f"N = {s['runs']:,}: s / MiB / MB" for s in sizes)
    lines = [f"| stage | {head} | s per run, N = {sizes[-2]['runs']:,} -> {sizes[-1]['runs']:,} |" if len(sizes) > 1
             else f"| stage | {head} |"]  # fmt: skip
    lines.append("| --- |" + " ---: |" * (len(sizes) + (len(sizes) > 1)))
    for i, row in enumerate(sizes[0]["stages"]):
        stage = [s["stages"][i] for s in sizes]
        cells = [f"{r['seconds']:.1f} / {r['peak_rss_mib']:,} / {r['bytes'] / 1e6:,.1f}" for r in stage]
        if len(sizes) > 1:
            a, b = sizes[-2], sizes[-1]
            growth = (b["stages"][i]["seconds"] - a["stages"][i]["seconds"]) / (b["runs"] - a["runs"])
            cells.append(f"{growth:.3f}")
        lines.append(f"| {row['stage']} | " + " | ".join(cells) + " |")
    lines.append("")
    for s in sizes:
        c = s["checks"]
        lines.append(
            f"- N = {s['runs']:,}: {c['scores']:,} scores, {c['report_rows']:,} report rows, {c['mlflow_runs']:,} "
            f"MLflow runs found; report page {c['report_index_bytes'] / 1e6:.1f} MB; no-op `dvc repro` up to date: "
            f"{'yes' if c['noop_repro_up_to_date'] else 'no'}"
        )
    for w in result.get("fan_out_wait", []):
        lines.append(
            f"- fan-out wait on {w['runs']:,} finished flow runs: {w['wait_seconds']} s, {w['requests']} API requests"
        )
    return "\n".join(lines)


def latents_markdown(folder: Path) -> str:
    """Per run of a pipeline run's `scores.json`: the active latents (KL above the threshold of
    :data:`betavae.config.metrics.ACTIVE_KL_NATS`) and the KL per latent in nats, largest first."""
    from betavae.config.metrics import ACTIVE_KL_NATS

    scores = read_json(folder / "scores.json")
    lines = [
        f"| run | active latents (KL > {ACTIVE_KL_NATS:g} nats) | KL per latent (nats), largest first |",
        "| --- | ---: | --- |",
    ]
    for name, values in scores.items():
        per_latent = [(key, v) for key, v in values.items() if re.fullmatch(r"reconstruction\.kl\.\d+", key)]
        per_latent.sort(key=lambda item: -item[1])
        cells = ", ".join(f"z{key.rsplit('.', 1)[1]} {v:.2f}" for key, v in per_latent)
        active = values.get("reconstruction.active_latents_kl")
        lines.append(f"| {name} | {'-' if active is None else int(active)} | {cells} |")
    return "\n".join(lines) + "\n"


RENDERERS: dict[str, Callable[[Path], str]] = {
    "latents": latents_markdown,
    "sweep": sweep_markdown,
    "convergence": convergence_markdown,
    "scale": scale_markdown,
}


def documents(root: Path) -> list[Path]:
    """Every document whose figures are checked."""
    found: list[Path] = []
    for pattern in DOCUMENTS:
        found += sorted(root.glob(pattern))
    return found


def regenerate(text: str, root: Path) -> str:
    """`text` with every generated block rendered again from its result file."""

    def render(match: re.Match[str]) -> str:
        kind, source = match["kind"], root / match["source"]
        if kind not in RENDERERS:
            raise DataError(f"unknown figures kind {kind!r}; expected one of {sorted(RENDERERS)}")
        if not source.exists():
            raise DataError(f"result file {match['source']} named by a figures block does not exist")
        return match["open"] + RENDERERS[kind](source) + match["close"]

    return BLOCK.sub(render, text)


def check(root: Path) -> list[str]:
    """What is wrong with the documents' figures: stale blocks, missing result files, missing provenance."""
    problems = []
    for doc in documents(root):
        name = doc.relative_to(root).as_posix()
        text = doc.read_text(encoding="utf-8")
        try:
            if regenerate(text, root) != text:
                problems.append(f"{name}: a figures block differs from its result file (make check-docs WRITE=1)")
        except DataError as exc:
            problems.append(f"{name}: {exc}")
        if name.startswith("docs/results/") and name != "docs/results/README.md":
            for pattern in PROVENANCE:
                if not pattern.search(text):
                    problems.append(f"{name}: no line matching {pattern.pattern!r}")
    return problems


def write_results_doc(
    paths: ProjectPaths,
    dataset: str,
    config: Mapping[str, Any],
    config_path: str,
    *,
    commit: str,
    wall_seconds: float,
    read: Callable[[Path], bytes | None] | None = None,
) -> str:
    """Write `docs/results/<config name>.md` for a finished run of `config_path` on `dataset`.

    The run's `scores.json`, `table.json` and `over_training.json` (read by `read`, e.g. from the
    experiment's commit; by default from the workspace) are copied to
    `docs/results/data/<config name>/`, and the document's tables are generated from those copies
    (:mod:`betavae.report.results_docs`, checked by `make check-docs`), under a header naming the command,
    the commit, the device, the wall time and the budget of `config`. Returns the document's path."""
    name = Path(config_path).stem
    data = paths.results_data(name)
    data.mkdir(parents=True, exist_ok=True)
    read = read or (lambda path: path.read_bytes() if path.is_file() else None)
    for source in (paths.scores(dataset), paths.table_json(dataset), paths.over_training(dataset)):
        content = read(source)
        if content is not None:
            write_bytes(data / source.name, content)
    train = config.get("train", {})
    sweep = config.get("sweep", {})
    lines = [
        f"# {dataset}: `{config_path}`",
        "",
        f"Command: `python -m pipelines.paper_scale --config {config_path}`",
        f"Commit: {commit}",
        "",
        f"- device: {device_name()}; finished {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC after "
        f"{wall_seconds / 60:.1f} min (`dvc exp run --temp`, every stage)",
        f"- budget per model: {train.get('steps')} steps x batch {train.get('batch_size')}, "
        f"{train.get('optimizer')} lr {train.get('lr')}; replicas: {len(sweep.get('seeds', []))} seeds "
        f"x {json.dumps(sweep.get('grid', {}))}",
        f"- result files: `{data.relative_to(paths.root).as_posix()}/`",
        "",
        f"<!-- figures: sweep {data.relative_to(paths.root).as_posix()} -->",
        "<!-- /figures -->",
        "",
    ]
    out = paths.results_doc(name)
    write_bytes(out, regenerate("\n".join(lines), paths.root).encode("utf-8"))
    return str(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="regenerate the blocks instead of checking them")
    parser.add_argument("--root", type=Path, default=Path("."), help="the repository root")
    args = parser.parse_args(argv)
    root: Path = args.root
    if args.write:
        for doc in documents(root):
            text = doc.read_text(encoding="utf-8")
            new = regenerate(text, root)
            if new != text:
                write_bytes(doc, new.encode("utf-8"))
                print(f"rewrote {doc.relative_to(root)}")
        return 0
    problems = check(root)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"figures of {len(documents(root))} documents match their result files")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
