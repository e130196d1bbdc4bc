"""`validate@<name>` stage: the dataset's Great Expectations suite; a failure stops `dvc repro`.

    python -m pipelines.validate dsprites

Data Docs HTML and a JSON summary land in `data/validation/<name>/`.
"""

from __future__ import annotations

import sys

from pipelines.common import PATHS, main_guard


def validate(name: str) -> None:
    from betavae.data.validation import check_dataset

    report = check_dataset(PATHS.dataset(name), PATHS.validation(name))
    print(f"{name}: all expectations met ({report})")


if __name__ == "__main__":
    main_guard(validate, sys.argv[1])
