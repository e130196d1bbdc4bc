"""Validate a stored dataset with Great Expectations before anything trains on it.

Two tables are checked. The *image table* has one row per image: the factor classes as stored, plus
statistics of the image (lowest and highest pixel value, number of lit pixels, foreground fraction).
The *file table* has one row per file listed in the manifest, with the recorded and the actual
sha256. The expectations say what a correct dataset of the manifest's kind looks like:

- a complete factor grid has exactly prod(factor_sizes) rows and every factor combination once
  (the property the disentanglement metrics of Higgins et al. 2017, Sec. 3, rely on when they fix a
  factor and sample the rest);
- every factor class lies in 0..size-1 and nothing is null;
- pixel values lie in 0..max_pixel_value (0..1 for binary datasets), no image is blank, and every
  image's foreground fraction lies in the manifest's range;
- every file's sha256 matches the manifest.

Results go to Great Expectations Data Docs (HTML) and to ``summary.json`` in the docs directory.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from betavae.data import storage
from betavae.data._zstd_npy import sha256_file
from betavae.errors import DataError, DataValidationError
from betavae.io import write_json
from betavae.paths import VALIDATION_SUMMARY_FILE

__all__ = ["ExpectationOutcome", "ValidationReport", "check_dataset", "image_table", "file_table"]

SUMMARY_FILE = VALIDATION_SUMMARY_FILE
#: What later stages depend on: the verdict alone (dataset digest, expectations and their outcomes), the
#: same bytes for the same data, so validating unchanged data again re-trains nothing. `summary.json` adds
#: timings and paths; the Data Docs add timestamps.
VERDICT_FILE = "verdict.json"
_ROW_CHUNK = 65536


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's result: its type (e.g. "expect_compound_columns_to_be_unique"), the column(s)
    it looked at, whether it held, and what was observed."""

    expectation: str
    target: str
    success: bool
    observed: Any = None
    unexpected_count: int | None = None

    def describe(self) -> str:
        text = f"{self.expectation}({self.target})" if self.target else self.expectation
        if self.success:
            return text
        details = []
        if self.unexpected_count is not None:
            details.append(f"{self.unexpected_count} unexpected")
        if self.observed is not None:
            details.append(f"observed {self.observed!r}")
        return f"{text}: {', '.join(details)}" if details else text


@dataclass(frozen=True)
class ValidationReport:
    """Outcome of :func:`check_dataset` for one dataset directory."""

    dataset: str
    dataset_dir: Path
    success: bool
    num_rows: int
    outcomes: tuple[ExpectationOutcome, ...]
    docs_index: Path | None
    summary_path: Path
    seconds: float
    problems: tuple[str, ...] = field(default=())

    def __str__(self) -> str:
        verdict = "passed" if self.success else f"failed {len(self.failed) + len(self.problems)} check(s)"
        return (
            f"{self.dataset}: {self.num_rows} rows, {len(self.outcomes)} expectations, {verdict} in "
            f"{self.seconds:.1f} s; Data Docs {self.docs_index}"
        )

    @property
    def failed(self) -> tuple[ExpectationOutcome, ...]:
        return tuple(o for o in self.outcomes if not o.success)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["dataset_dir"] = str(self.dataset_dir)
        out["docs_index"] = str(self.docs_index) if self.docs_index else None
        out["summary_path"] = str(self.summary_path)
        out["outcomes"] = [_jsonable(asdict(o)) for o in self.outcomes]
        out["failed"] = [o.describe() for o in self.failed]
        return out


def image_table(dataset_dir: Path | str, manifest: Mapping[str, Any]) -> tuple[pd.DataFrame, list[str]]:
    """One row per image: factor columns as stored, plus pixel_min, pixel_max, lit_pixels and
    foreground_fraction. Returns the frame and the problems met while reading (an unreadable file
    leaves its columns null, which the null checks then report)."""
    dataset_dir = Path(dataset_dir)
    problems: list[str] = []
    stats: pd.DataFrame | None = None
    try:
        stats = _image_stats(dataset_dir, manifest)
    except DataError as exc:
        problems.append(f"images unreadable: {exc}")
    factors: pd.DataFrame | None = None
    try:
        table = storage.read_factor_table(dataset_dir, manifest)
        factors = table.to_pandas() if table is not None else pd.DataFrame(index=range(0))
    except DataError as exc:
        problems.append(f"factor table unreadable: {exc}")
    n = int(manifest["num_images"])
    if stats is None:
        stats = pd.DataFrame(
            {c: np.full(n, np.nan) for c in ("pixel_min", "pixel_max", "lit_pixels", "foreground_fraction")}
        )
    if factors is None:
        factors = pd.DataFrame({f: np.full(n, np.nan) for f in manifest["factor_names"]})
    frame = pd.concat([factors.reset_index(drop=True), stats.reset_index(drop=True)], axis=1)
    if manifest.get("split"):  # which part each image belongs to; unreadable rows leave the column null
        part = pd.Series([None] * n, dtype=object)
        try:
            test = storage.read_test_rows(dataset_dir, manifest)
        except DataError as exc:
            problems.append(f"test rows unreadable: {exc}")
        else:
            part[:] = "train"
            part[test] = "test"
        frame["split"] = part
    return frame, problems


def file_table(dataset_dir: Path | str, manifest: Mapping[str, Any]) -> pd.DataFrame:
    """One row per file listed in the manifest: its recorded and its actual sha256 ("missing" if absent)."""
    rows = []
    for fname, meta in sorted(manifest["files"].items()):
        path = Path(dataset_dir) / fname
        rows.append(
            {
                "file": fname,
                "manifest_sha256": str(meta.get("sha256", "")),
                "actual_sha256": sha256_file(path) if path.is_file() else "missing",
            }
        )
    return pd.DataFrame(rows, columns=["file", "manifest_sha256", "actual_sha256"])


def check_dataset(dataset_dir: Path | str, docs_dir: Path | str) -> ValidationReport:
    """Validate the dataset in ``dataset_dir``; write Data Docs and ``summary.json`` under ``docs_dir``.

    Returns the report when every expectation holds; otherwise raises DataValidationError whose
    message names each failed expectation and the column it checked.
    """
    start = time.perf_counter()
    dataset_dir, docs_dir = Path(dataset_dir), Path(docs_dir)
    manifest = storage.read_manifest(dataset_dir)
    images, problems = image_table(dataset_dir, manifest)
    files = file_table(dataset_dir, manifest)

    docs_dir.mkdir(parents=True, exist_ok=True)
    outcomes, docs_index = _run_great_expectations(
        str(manifest["name"]),
        [("images", images, _image_expectations(manifest)), ("files", files, _file_expectations())],
        docs_dir,
    )
    report = ValidationReport(
        dataset=str(manifest["name"]),
        dataset_dir=dataset_dir,
        success=all(o.success for o in outcomes) and not problems,
        num_rows=len(images),
        outcomes=tuple(outcomes),
        docs_index=docs_index,
        summary_path=docs_dir / SUMMARY_FILE,
        seconds=time.perf_counter() - start,
        problems=tuple(problems),
    )
    write_json(report.summary_path, report.to_dict())
    verdict = docs_dir / VERDICT_FILE
    verdict.unlink(missing_ok=True)
    if report.success:
        fields = report.to_dict()
        write_json(
            verdict,
            {
                "images_sha256": storage.images_digest(manifest),
                "dataset_sha256": storage.dataset_digest(manifest),
                **{k: fields[k] for k in ("dataset", "success", "num_rows", "outcomes")},
            },
        )
    if not report.success:
        named = [o.describe() for o in report.failed] + list(problems)
        raise DataValidationError(
            f"dataset {report.dataset!r} ({dataset_dir}) failed {len(named)} check(s): "
            + "; ".join(named)
            + f". Data Docs: {docs_index}"
        )
    return report


# --- expectations -------------------------------------------------------------------------------


def _image_expectations(manifest: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    names = list(manifest["factor_names"])
    sizes = [int(s) for s in manifest.get("factor_sizes", [])]
    complete = bool(manifest.get("complete_grid", False))
    expected_rows = math.prod(sizes) if complete else int(manifest["num_images"])
    max_pixel = int(manifest.get("max_pixel_value", 1 if manifest["binary"] else 255))
    lo, hi = (float(v) for v in manifest.get("foreground_range", [0.0, 1.0]))
    out: list[tuple[str, dict[str, Any]]] = [("ExpectTableRowCountToEqual", {"value": expected_rows})]
    if complete:
        out.append(("ExpectCompoundColumnsToBeUnique", {"column_list": names}))
    for name, size in zip(names, sizes, strict=True):
        out.append(("ExpectColumnValuesToNotBeNull", {"column": name}))
        out.append(("ExpectColumnValuesToBeInSet", {"column": name, "value_set": list(range(size))}))
    for column in ("pixel_min", "pixel_max", "foreground_fraction"):
        out.append(("ExpectColumnValuesToNotBeNull", {"column": column}))
    out.append(("ExpectColumnValuesToBeBetween", {"column": "pixel_min", "min_value": 0, "max_value": max_pixel}))
    out.append(("ExpectColumnValuesToBeBetween", {"column": "pixel_max", "min_value": 0, "max_value": max_pixel}))
    out.append(("ExpectColumnValuesToBeBetween", {"column": "lit_pixels", "min_value": 1}))  # no blank image
    out.append(("ExpectColumnValuesToBeBetween", {"column": "foreground_fraction", "min_value": lo, "max_value": hi}))
    if manifest.get("split"):  # every image in one part, and both parts hold images
        out.append(("ExpectColumnValuesToNotBeNull", {"column": "split"}))
        out.append(("ExpectColumnDistinctValuesToEqualSet", {"column": "split", "value_set": ["test", "train"]}))
    return out


def _file_expectations() -> list[tuple[str, dict[str, Any]]]:
    return [
        ("ExpectColumnValuesToNotBeNull", {"column": "file"}),
        ("ExpectColumnPairValuesToBeEqual", {"column_A": "manifest_sha256", "column_B": "actual_sha256"}),
    ]


def _run_great_expectations(
    dataset: str,
    tables: Sequence[tuple[str, pd.DataFrame, list[tuple[str, dict[str, Any]]]]],
    docs_dir: Path,
) -> tuple[list[ExpectationOutcome], Path | None]:
    """Validate each (name, frame, expectations) with an ephemeral GX context and render Data Docs."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx  # imported here: it takes seconds and only validation needs it
    import great_expectations.expectations as gxe
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    for existing in list(context.list_data_docs_sites()):  # render into docs_dir only
        context.delete_data_docs_site(existing)
    site = "betavae_docs"
    context.add_data_docs_site(
        site_name=site,
        site_config={
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    source = context.data_sources.add_pandas(name=f"{dataset}_tables")
    outcomes: list[ExpectationOutcome] = []
    for table_name, frame, expectations in tables:
        asset = source.add_dataframe_asset(name=table_name)
        batch = asset.add_batch_definition_whole_dataframe(f"{table_name}_all")
        suite = context.suites.add(gx.ExpectationSuite(name=f"{dataset}_{table_name}"))
        for class_name, kwargs in expectations:
            suite.add_expectation(getattr(gxe, class_name)(**kwargs))
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{dataset}_{table_name}_check", data=batch, suite=suite)
        )
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=f"{dataset}_{table_name}_checkpoint",
                validation_definitions=[definition],
                actions=[gx.checkpoint.UpdateDataDocsAction(name="update_docs", site_names=[site])],
                result_format="SUMMARY",
            )
        )
        result = checkpoint.run(batch_parameters={"dataframe": frame})
        for run_result in result.run_results.values():
            for res in run_result.results:
                outcomes.append(_outcome(table_name, res))
    index = docs_dir / "index.html"
    return outcomes, index if index.is_file() else None


def _outcome(table: str, res: Any) -> ExpectationOutcome:
    config = res.expectation_config
    kwargs = config.kwargs
    if "column_list" in kwargs:
        target = f"{table}: {', '.join(kwargs['column_list'])}"
    elif "column_A" in kwargs:
        target = f"{table}: {kwargs['column_A']} == {kwargs['column_B']}"
    elif "column" in kwargs:
        target = f"{table}: {kwargs['column']}"
    else:
        target = table
    result = res.result or {}
    observed = result.get("observed_value")
    count = result.get("unexpected_count")
    if res.exception_info and res.exception_info.get("raised_exception"):
        observed = f"error: {res.exception_info.get('exception_message')}"
    return ExpectationOutcome(
        expectation=config.type,
        target=target,
        success=bool(res.success),
        observed=_jsonable(observed),
        unexpected_count=int(count) if count is not None else None,
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


# --- image statistics ---------------------------------------------------------------------------


def _image_stats(dataset_dir: Path, manifest: Mapping[str, Any]) -> pd.DataFrame:
    """pixel_min, pixel_max, lit_pixels, foreground_fraction per image, read in chunks."""
    shape = tuple(int(s) for s in manifest["observation_shape"])
    size = math.prod(shape)
    stored = storage.read_images(dataset_dir, manifest, unpack=False)
    n = stored.shape[0]
    if manifest["packed"]:
        lit = np.empty(n, dtype=np.int64)
        for s in range(0, n, _ROW_CHUNK):
            lit[s : s + _ROW_CHUNK] = np.bitwise_count(stored[s : s + _ROW_CHUNK]).sum(axis=1, dtype=np.int64)
        return pd.DataFrame(
            {
                "pixel_min": (lit == size).astype(np.int64),
                "pixel_max": (lit > 0).astype(np.int64),
                "lit_pixels": lit,
                "foreground_fraction": lit / size,
            }
        )
    flat = stored.reshape(n, -1)
    pmin = np.empty(n, dtype=np.int64)
    pmax = np.empty(n, dtype=np.int64)
    lit = np.empty(n, dtype=np.int64)
    for s in range(0, n, _ROW_CHUNK):
        chunk = flat[s : s + _ROW_CHUNK]
        pmin[s : s + _ROW_CHUNK] = chunk.min(axis=1)
        pmax[s : s + _ROW_CHUNK] = chunk.max(axis=1)
        lit[s : s + _ROW_CHUNK] = np.count_nonzero(chunk, axis=1)
    fractions = storage.foreground_fractions(stored, shape, bool(manifest["binary"]))
    return pd.DataFrame({"pixel_min": pmin, "pixel_max": pmax, "lit_pixels": lit, "foreground_fraction": fractions})
