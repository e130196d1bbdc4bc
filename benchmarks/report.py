"""The benchmark's table and its same-run ratios against the targets of benchmarks/NOTES.md."""

from __future__ import annotations

from typing import Any

TARGETS = {
    "mlp64_b64_vs_plain": 3.0,  # engine mlp64 at batch 64 / plain float32 loop at batch 64
    "mlp64_large_fraction_of_matmul": 0.70,  # achieved / measured matrix-product rate at the large batch
    "conv64_b64_vs_previous": 2.0,  # engine conv64 / the previous engine (fp32, unfused Adam)
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
        if "flops_per_image" in row:
            row["achieved_gflops"] = row["images_per_s"] * row["flops_per_image"] / 1e9
            peak = rates.get(row["precision"], {}).get("large")
            if peak:
                row["fraction_of_matmul"] = row["achieved_gflops"] / peak


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    """The headline same-run ratios and whether each meets its target."""
    _annotate(result)
    rows = result.get("training", [])
    out: dict[str, Any] = {}
    b64 = _find(rows, "engine", "mlp64", 64)
    if b64 and "x_plain_loop" in b64:
        out["mlp64_b64_vs_plain"] = b64["x_plain_loop"]
    large = max((r["batch"] for r in rows), default=0)
    big = _find(rows, "engine", "mlp64", large)
    if big and "fraction_of_matmul" in big:
        out["mlp64_large_fraction_of_matmul"] = big["fraction_of_matmul"]
    conv, before = _find(rows, "engine", "conv64", 64), _find(rows, "previous engine", "conv64", 64)
    if conv and before:
        out["conv64_b64_vs_previous"] = conv["images_per_s"] / before["images_per_s"]
    mlp_before = _find(rows, "previous engine", "mlp64", 64)
    if b64 and mlp_before:
        out["mlp64_b64_vs_previous"] = b64["images_per_s"] / mlp_before["images_per_s"]
    return {k: {"value": round(v, 3), "target": TARGETS.get(k), "met": (v >= TARGETS[k]) if k in TARGETS else None}
            for k, v in out.items()}


def format_report(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [f"betavae benchmark ({result['mode']}, {result.get('seconds', '?')} s): {m['device']}"
             f"{' ' + m['gpu'] if 'gpu' in m else ''}, {m['cpu']}, {m['torch_threads']} threads, torch {m['torch']}, "
             f"load average {m['load_average_start']} -> {m.get('load_average_end', '?')}"]
    rates = result.get("matmul_gflops")
    if rates:
        lines.append("matmul GFLOP/s (best of repeats): " + "; ".join(
            f"{dt} {v['large']:.0f} (2048x4096@4096x1200), {v['batch64']:.0f} (64x4096@4096x1200)"
            for dt, v in rates.items()))
    rows = result.get("training")
    if rows:
        lines.append("")
        lines.append(f"{'training case':<17}{'model':<12}{'batch':>6}{'prec':>6}{'img/s':>9}{'x plain':>9}"
                     f"{'MFLOP/img':>11}{'GFLOP/s':>9}{'of matmul':>10}")
        for r in rows:
            lines.append(
                f"{r['case']:<17}{r['model']:<12}{r['batch']:>6}{r['precision']:>6}{r['images_per_s']:>9.0f}"
                f"{_fmt(r.get('x_plain_loop'), '{:.2f}x'):>9}{_fmt(r.get('flops_per_image'), '{:.1f}', 1e-6):>11}"
                f"{_fmt(r.get('achieved_gflops'), '{:.0f}'):>9}{_fmt(r.get('fraction_of_matmul'), '{:.0%}'):>10}")
    enc = result.get("encode")
    if enc:
        lines.append("")
        lines.append("encode images/s (batch 2048): " + ", ".join(f"{k} {v['images_per_s']:.0f}" for k, v in enc.items()))
    data = result.get("data")
    if data:
        lines.append("dSprites: " + ", ".join(f"{k} {v}" for k, v in data.items()))
    suite = result.get("metric_suite")
    if suite:
        for name, v in suite.items():
            if isinstance(v, dict):
                lines.append(f"metric suite '{name}': {v['seconds_per_model']} s per model; {v['breakdown_s']}")
    summary = result.get("summary")
    if summary:
        lines.append("")
        for k, v in summary.items():
            target = "" if v["target"] is None else f" (target >= {v['target']}: {'met' if v['met'] else 'NOT met'})"
            lines.append(f"{k}: {v['value']}{target}")
    return "\n".join(lines)


def _fmt(value: float | None, pattern: str, scale: float = 1.0) -> str:
    return "-" if value is None else pattern.format(value * scale)
