"""Cost of the dSprites data stage on this machine, and how closely the renderer matches real images.

Measures, each as the median of ``--repeats`` runs:

- generation: rendering all 737,280 images bit-packed (``render_all_packed``), with 1 and 2 threads;
- storage: bytes on disk of the dataset directory written by ``write_procedural_dsprites``;
- load: ``load_dataset`` into a uint8 (737280, 64, 64, 1) array, checksums included;
- validation: ``check_dataset`` (Great Expectations) over all 737,280 rows, Data Docs included; the
  first run also pays the Great Expectations import and is reported apart;
- fidelity: intersection over union of white pixels for each of the 12 real images in
  tests/fixtures/dsprites_real_12.npz.

    python benchmarks/bench_data.py [--repeats 3] [--workdir DIR] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from betavae.data import dsprites
from betavae.data.storage import load_dataset

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "dsprites_real_12.npz"


def timed(fn: Callable[[], Any], repeats: int) -> tuple[list[float], Any]:
    """Wall-clock seconds of ``repeats`` calls of ``fn`` and the last result."""
    times, result = [], None
    for _ in range(repeats):
        result = None  # let the previous result go before the next run allocates its own
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times, result


def fixture_iou() -> list[float]:
    data = np.load(FIXTURE)
    classes = dsprites.classes_from_values(data["latents_values"])
    drawn = dsprites.render(classes).astype(bool)
    real = data["imgs"].astype(bool)
    return [float((a & b).sum() / (a | b).sum()) for a, b in zip(drawn, real, strict=True)]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None, help="where to write the dataset (default: a temp dir)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)

    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench_data_"))
    out: dict[str, Any] = {"cpus": os.cpu_count(), "load_average_start": os.getloadavg()[0]}

    ious = fixture_iou()
    out["fixture_iou"] = [round(v, 4) for v in ious]
    out["fixture_iou_min"], out["fixture_iou_mean"] = round(min(ious), 4), round(float(np.mean(ious)), 4)

    for workers in (1, 2):
        times, _ = timed(lambda w=workers: dsprites.render_all_packed(workers=w), args.repeats)
        out[f"generate_s_{workers}_threads"] = round(statistics.median(times), 2)

    times, path = timed(lambda: dsprites.write_procedural_dsprites(work / "dsprites"), 1)
    out["generate_and_write_s"] = round(times[0], 2)
    out["stored_bytes"] = {p.name: p.stat().st_size for p in sorted(path.iterdir())}
    out["stored_mb_total"] = round(sum(out["stored_bytes"].values()) / 1e6, 2)

    times, data = timed(lambda: load_dataset(path), args.repeats + 2)
    out["load_s_median"], out["load_s_all"] = round(statistics.median(times), 2), [round(t, 2) for t in times]
    assert data.images.shape == (737280, 64, 64, 1) and data.images.dtype == np.uint8
    del data

    from betavae.data.validation import check_dataset

    docs = work / "validation" / "dsprites"
    times, report = timed(lambda: check_dataset(path, docs), args.repeats + 1)
    out["validate_s_first_with_gx_import"] = round(times[0], 2)
    out["validate_s_median_after_import"] = round(statistics.median(times[1:]), 2)
    out["validation_success"] = report.success
    out["load_average_end"] = os.getloadavg()[0]

    print(json.dumps(out, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
