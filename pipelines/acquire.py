"""`acquire@<name>` stage: write dataset `<name>` of `params.yaml: data.datasets` to `data/datasets/<name>/`.

python -m pipelines.acquire dsprites
"""

from __future__ import annotations

import sys

from pipelines.common import PATHS, ROOT, main_guard, params


def acquire(name: str) -> None:
    from betavae.data.acquire import acquire_named

    out = acquire_named(name, (params().get("data") or {}).get("datasets"), PATHS.datasets, ROOT)
    print(f"acquired {name} -> {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main_guard(acquire, sys.argv[1])
