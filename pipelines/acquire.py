"""`acquire@<name>` stage: write dataset `<name>` of `params.yaml: data.datasets` to `data/datasets/<name>/`.

    python -m pipelines.acquire dsprites
"""

from __future__ import annotations

import sys

from betavae.errors import ConfigError
from pipelines.common import ROOT, main_guard, params


def acquire(name: str) -> None:
    from betavae.data.acquire import acquire_dataset

    datasets = (params().get("data") or {}).get("datasets") or {}
    if name not in datasets:
        raise ConfigError(f"data.datasets has no dataset {name!r}; defined: {sorted(datasets)}")
    out = acquire_dataset(name, datasets[name], ROOT / "data" / "datasets", ROOT)
    print(f"acquired {name} -> {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main_guard(acquire, sys.argv[1])
