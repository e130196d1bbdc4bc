"""`register` stage: the best finished run by `register.metric` becomes `betavae-<dataset>@<alias>`.

    python -m pipelines.register
"""

from __future__ import annotations

from pipelines.common import PATHS, ROOT, main_guard, params


def register() -> None:
    from betavae.config import RegisterConfig
    from betavae.io import read_json, write_json
    from betavae.tracking.client import client_for
    from betavae.tracking.registry import choose_best, register
    from betavae.tracking.sweep_record import read_sweep_record

    p = params()
    cfg = RegisterConfig.from_dict(p.get("register"))
    dataset = p["data"]["dataset"]
    sweep = read_sweep_record(PATHS.sweep_record(dataset))
    scores = read_json(PATHS.scores(dataset))
    best, value = choose_best(sweep.runs, scores, cfg.metric, cfg.mode)
    entry = register(client_for(ROOT), best, dataset, alias=cfg.alias, metric=cfg.metric, value=value)
    write_json(PATHS.registered(dataset), entry)
    print(f"registered {entry['uri']} = version {entry['version']} ({best.name}, {cfg.metric}={value:.4f})")


if __name__ == "__main__":
    main_guard(register)
