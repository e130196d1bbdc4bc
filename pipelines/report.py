"""`report` stage: the static HTML report of a dataset, `reports/<dataset>/index.html`.

    python -m pipelines.report dsprites        # what `dvc repro report@dsprites` runs

One self-contained file (pictures embedded, inline script, no network): the Fig. 5 (left) table, a
sortable comparison of every run, each run's pictures, the sweep plots, the data validation summary and
the lineage of the registered champion (:mod:`betavae.report.build`).
"""

from __future__ import annotations

import sys

from betavae.report.build import build_report
from pipelines.common import ROOT, main_guard
from pipelines.dataset_arg import dataset_argument


def report(dataset: str) -> None:
    path = build_report(ROOT, dataset)
    print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size / 1e6:.1f} MB); open it in a browser")


def main() -> None:
    main_guard(report, dataset_argument(sys.argv))


if __name__ == "__main__":
    main()
