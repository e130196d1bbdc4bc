"""The benchmark's table and its same-run ratios against the targets of benchmarks/NOTES.md."""

from __future__ import annotations

from typing import Any

TARGETS = {
    "mlp64_b64_vs_plain": 3.0,  # engine mlp64 at batch 64 / plain float32 loop at batch 64
    "mlp64_large_fraction_of_matmul": 0.70,  # achieved / measured matrix-product rate at the large batch
    "conv64_b64_vs_previous": 2.0,  # engine conv64 / the previous engine (fp32, unfused Adam)
}
CEILINGS = {
    "metric_suite_cpu_seconds_per_model": 10.0,  # the `cpu` metric profile on one dSprites model, 2 cores
}


def _find(rows: list[dict[str, Any]], case: str, model: str, batch: int) -> dict[str, Any] | None:
    return next((r for r in rows if r["case"] == case and r["model"] == model and r["batch"] == batch), None)


def _annotate(result: dict[str, Any]) -> None:
    """Add to each training row its ratio to the plain loop at its batch and to the matmul rate."""
    rows = result.get("training", [])
    rates = result.get("matmul_gflops", {})
    for row in rows:
        plain = _find(rows, "plain loop", "plain mlp64", row["batch"])
        if plain and row is not plain:
            row["x_plain_loop"] = row["images_per_s"] / plain["images_per_s"]
            if "images_per_cpu_s" in row and "images_per_cpu_s" in plain:
                row["x_plain_loop_cpu"] = row["images_per_cpu_s"] / plain["images_per_cpu_s"]
        if "flops_per_image" in row:
            row["achieved_gflops"] = row["images_per_s"] * row["flops_per_image"] / 1e9
            peak = rates.get(row["precision"], {}).get("large")
            if peak:
                row["fraction_of_matmul"] = row["achieved_gflops"] / peak
            peak_cpu = rates.get(row["precision"], {}).get("large_per_cpu_s")
            if peak_cpu and "images_per_cpu_s" in row:
                row["fraction_of_matmul_cpu"] = row["images_per_cpu_s"] * row["flops_per_image"] / 1e9 / peak_cpu


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    """The headline same-run ratios and whether each meets its target."""
    _annotate(result)
    rows = result.get("training", [])
    out: dict[str, Any] = {}
    b64 = _find(rows, "engine", "mlp64", 64)
    large = max((r["batch"] for r in rows), default=0)
    big = _find(rows, "engine", "mlp64", large)
    conv, before = _find(rows, "engine", "conv64", 64), _find(rows, "previous engine", "conv64", 64)
    mlp_before = _find(rows, "previous engine", "mlp64", 64)
    # Each ratio per wall-clock second and, with the suffix _cpu, per second of CPU time the process got
    # (the figure that a shared machine disturbs least).
    for suffix, rate in (("", "images_per_s"), ("_cpu", "images_per_cpu_s")):
        if b64 and f"x_plain_loop{suffix}" in b64:
            out[f"mlp64_b64_vs_plain{suffix}"] = b64[f"x_plain_loop{suffix}"]
        if big and f"fraction_of_matmul{suffix}" in big:
            out[f"mlp64_large_fraction_of_matmul{suffix}"] = big[f"fraction_of_matmul{suffix}"]
        if conv and before and rate in conv and rate in before:
            out[f"conv64_b64_vs_previous{suffix}"] = conv[rate] / before[rate]
        if b64 and mlp_before and rate in b64 and rate in mlp_before:
            out[f"mlp64_b64_vs_previous{suffix}"] = b64[rate] / mlp_before[rate]
    cpu_suite = result.get("metric_suite", {}).get("cpu")
    if isinstance(cpu_suite, dict):
        out["metric_suite_cpu_seconds_per_model"] = cpu_suite["seconds_per_model"]
    summary: dict[str, Any] = {}
    for k, v in out.items():
        floor, ceiling = TARGETS.get(k.removesuffix("_cpu")), CEILINGS.get(k)
        if ceiling is not None:
            summary[k] = {"value": round(v, 3), "target": ceiling, "at_most": True, "met": v <= ceiling}
        else:
            summary[k] = {"value": round(v, 3), "target": floor, "met": None if floor is None else v >= floor}
    return summary


def format_report(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [
        f"betavae benchmark ({result['mode']}, {result.get('seconds', '?')} s): {m['device']}"
        f"{' ' + m['gpu'] if 'gpu' in m else ''}, {m['cpu']}, {m['torch_threads']} threads, torch {m['torch']}, "
        f"load average {m['load_average_start']} -> {m.get('load_average_end', '?')}"
    ]
    rates = result.get("matmul_gflops")
    if rates:
        lines.append(
            "matmul GFLOP/s (best of repeats; per CPU-second in brackets): "
            + "; ".join(
                f"{dt} {v['large']:.0f} [{v.get('large_per_cpu_s', 0):.0f}] (2048x4096@4096x1200), "
                f"{v['batch64']:.0f} [{v.get('batch64_per_cpu_s', 0):.0f}] (64x4096@4096x1200)"
                for dt, v in rates.items()
            )
        )
    rows = result.get("training")
    if rows:
        lines.append("")
        lines.append(
            f"{'training case':<17}{'model':<12}{'batch':>6}{'prec':>6}{'img/s':>8}{'x plain':>9}"
            f"{'img/cpu-s':>10}{'x plain':>9}{'MFLOP/img':>10}{'GFLOP/s':>8}{'of matmul':>10}{'(cpu)':>7}"
        )
        for r in rows:
            lines.append(
                f"{r['case']:<17}{r['model']:<12}{r['batch']:>6}{r['precision']:>6}{r['images_per_s']:>8.0f}"
                f"{_fmt(r.get('x_plain_loop'), '{:.2f}x'):>9}{_fmt(r.get('images_per_cpu_s'), '{:.0f}'):>10}"
                f"{_fmt(r.get('x_plain_loop_cpu'), '{:.2f}x'):>9}{_fmt(r.get('flops_per_image'), '{:.1f}', 1e-6):>10}"
                f"{_fmt(r.get('achieved_gflops'), '{:.0f}'):>8}{_fmt(r.get('fraction_of_matmul'), '{:.0%}'):>10}"
                f"{_fmt(r.get('fraction_of_matmul_cpu'), '{:.0%}'):>7}"
            )
    enc = result.get("encode")
    if enc:
        lines.append("")
        lines.append(
            "encode images/s: " + ", ".join(f"{k} {v['images_per_s']:.0f} (batch {v['batch']})" for k, v in enc.items())
        )
    data = result.get("data")
    if data:
        lines.append("dSprites: " + ", ".join(f"{k} {v}" for k, v in data.items()))
    suite = result.get("metric_suite")
    if suite:
        arch = f" ({suite['arch']})" if "arch" in suite else ""
        for name, v in suite.items():
            if isinstance(v, dict):
                lines.append(
                    f"metric suite '{name}'{arch}: {v['seconds_per_model']} s per model (median of "
                    f"{v.get('models_timed', 1)}; first {v.get('first_model_seconds', '-')} s); "
                    f"{v['breakdown_s']}"
                )
    convergence = result.get("convergence")
    if convergence:
        lines.append("")
        lines.append(f"convergence: median over seeds {convergence['seeds']}, MIG by {convergence['mig_estimator']}")
        for name, entry in convergence["recipes"].items():
            rates = ", ".join(f"{r['images_per_second']:,}" for r in entry["runs"])
            lines.append(f"recipe {name} {entry['overrides']} (img/s per seed: {rates})")
            for point in entry["median"]:
                shown = "  ".join(
                    f"{label} {point[key]:.3f} [{point[key + '_min']:.3f}, {point[key + '_max']:.3f}]"
                    for key, label in (("mig", "MIG"), ("beta_vae", "BetaVAE"))
                    if key in point
                )
                lines.append(f"  {point['images']:>10,} images {point['train_s']:>7.0f} s  {shown}")
            for threshold, hit in entry["reached"].items():
                where = (
                    f"{hit['images']:,} images, {hit['train_s']} s of training"
                    if hit["reached"]
                    else f"not reached (best median {hit['best_median']})"
                )
                lines.append(f"  median {threshold}: {where}")
    if result.get("scale"):
        from benchmarks.scale import format_scale

        lines.extend(format_scale(result["scale"]))
    summary = result.get("summary")
    if summary:
        lines.append("")
        for k, v in summary.items():
            bound = "<=" if v.get("at_most") else ">="
            target = (
                "" if v["target"] is None else f" (target {bound} {v['target']}: {'met' if v['met'] else 'NOT met'})"
            )
            lines.append(f"{k}: {v['value']}{target}")
    return "\n".join(lines)


def _fmt(value: float | None, pattern: str, scale: float = 1.0) -> str:
    return "-" if value is None else pattern.format(value * scale)
