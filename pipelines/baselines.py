"""The baseline rows of Higgins et al. 2017 Fig. 5 (left) alone, without training any model.

    python -m pipelines.baselines [--dataset NAME] [--only pca ica] [--untrained-seeds 0 1 2]
                                  [--set tol=1e-4 ...] [--out metrics/<dataset>/baselines]

Reads `evaluate.table` and `model` from `params.yaml`, scores ground truth, raw pixels, PCA, ICA and the
untrained VAE by the table's protocol, and writes `<out>.json` and `<out>.md`. `--set key=value`
overrides a setting of the table's metric (values are read as YAML) to measure its effect.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import yaml

from pipelines.common import PATHS, main_guard, params


def measure(argv: list[str] | None = None) -> None:
    from betavae.config import EvaluateConfig
    from betavae.config.model import ModelConfig
    from betavae.config.per_dataset import datasets_to_train
    from betavae.data.storage import load_dataset
    from betavae.evaluation.fig5 import LABELS, baseline_rows, protocol_title
    from betavae.evaluation.table import render_markdown
    from betavae.io import atomic_path, write_json

    p = params()
    parser = argparse.ArgumentParser(prog="python -m pipelines.baselines")
    parser.add_argument("--dataset", default=datasets_to_train(p)[0])
    parser.add_argument("--only", nargs="+", choices=sorted(LABELS), default=None)
    parser.add_argument("--untrained-seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    cfg = EvaluateConfig.from_dict(p.get("evaluate"))
    overrides = {k: yaml.safe_load(v) for k, v in (item.split("=", 1) for item in args.set)}
    table = dataclasses.replace(cfg.table, params={**dict(cfg.table.params), **overrides})
    metric_params = table.metric_params(cfg.metrics)  # the overrides are checked here
    data = load_dataset(PATHS.dataset(args.dataset, "--dataset"))
    started = time.perf_counter()
    import numpy as np

    rows, details = baseline_rows(
        data,
        args.only or table.baselines,
        rng=np.random.default_rng(cfg.seed),
        metric=table.metric,
        score=table.score,
        params=metric_params,
        classifier_seeds=table.classifier_seeds,
        keep_fraction=table.keep_fraction,
        fit_samples=table.fit_samples,
        identity_factor=table.identity_factor,
        model_config=ModelConfig.from_dict(p["model"]),
        untrained_seeds=args.untrained_seeds,
    )
    title = protocol_title(table.metric, table.score, metric_params, table.keep_fraction, table.classifier_seeds)
    out = Path(args.out) if args.out else PATHS.metrics(args.dataset) / "baselines"
    write_json(
        out.with_suffix(".json"),
        {
            "dataset": args.dataset,
            "protocol": title,
            "settings": metric_params,
            "seconds": time.perf_counter() - started,
            "rows": details,
        },
    )
    md = render_markdown(rows, dataset=args.dataset, score_name=f"{table.metric}.{table.score}", protocol=title)
    with atomic_path(out.with_suffix(".md")) as tmp:
        tmp.write_text(md, encoding="utf-8")
    print(md)


if __name__ == "__main__":
    main_guard(measure)
