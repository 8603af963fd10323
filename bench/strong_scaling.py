"""Strong scaling against a published series, and a what-if curve.

Default: every row of a published strong-scaling file (validation/strong_scaling.csv: MegaScale Table 2,
GPT 175B on 256 to 12,288 GPUs, MegaScale and its Megatron-LM baseline, held out as a whole) goes through
the validation runner (flopwatt.validate, the same code as ``flopwatt validate``); the bench prints the
published and predicted metric per point with the error, grouped into series (framework, global batch),
and each series' largest error against a per-point tolerance (5 % by default, issue 16). Nothing is fitted on
this file. Beside each point: the scale-dependent shares of the predicted step (bubble, exposed data-parallel
sync, wait for the slowest replica, slow hosts) and the largest part of the step other than compute.

    python bench/strong_scaling.py [validation/strong_scaling.csv] [--tolerance 0.05]

``--what-if``: GPT-3 175B at a fixed global batch on 256 to 12,288 A100s over 400G RoCE. The A100 nodes
are DGX A100 with their scale-out replaced by one 400 Gb/s RoCE NIC per GPU (a what-if system built
here, not a catalog entry), on a rail-optimised fabric of 51.2T switches (128 x 400G). For each device
count every plan is evaluated and the fastest feasible one is kept.

    python bench/strong_scaling.py --what-if [--global-batch 1536] [--stack megatron-core]
"""

from __future__ import annotations

import argparse
import dataclasses
from collections import defaultdict
from pathlib import Path

from flopwatt import catalog
from flopwatt.estimate import estimate_training
from flopwatt.fabric.design import design
from flopwatt.fabric.network import FabricSpec
from flopwatt.perf.space import PlanRequest
from flopwatt.specs import TrainingWorkload
from flopwatt.validate import _estimate_row, read_rows, validate

DEFAULT_SERIES = Path(__file__).resolve().parent.parent / "validation" / "strong_scaling.csv"

COUNTS = (256, 512, 1024, 1536, 2048, 3072, 4096, 6144, 8192, 12288)


def a100_roce_400g():
    base = catalog.get("systems", "dgx-a100-80gb")
    nic = dataclasses.replace(base.scale_out, technology="roce-400g", bandwidth_bytes_per_s=50e9)
    return dataclasses.replace(base, id="dgx-a100-roce-400g", scale_out=nic)


def curve(global_batch: int, stack_id: str) -> list[dict]:
    model = catalog.get("models", "gpt3-175b")
    system = a100_roce_400g()
    stack = catalog.get("stacks", stack_id)
    workload = TrainingWorkload(model=model, seq_len=2048, tokens=300e9)
    rows = []
    for n in COUNTS:
        fabric, _ = design(FabricSpec(topology="rail-optimized", switch="eth-51t2-400g"), n, 8)
        est = estimate_training(workload, system, stack, PlanRequest(devices=n, global_batch=global_batch),
                                fabric=fabric)
        if est.best is None:
            rows.append({"devices": n, "feasible": False})
            continue
        s = est.best_summary()
        rows.append({"devices": n, "mfu": s["metrics"]["mfu"], "step_time_s": s["metrics"]["step_time_s"],
                     "plan": s["plan"], "bubble_share": s["time"]["time/bubble"] / s["metrics"]["step_time_s"],
                     "dp_share": s["time"]["time/comm/dp"] / s["metrics"]["step_time_s"]})
    return rows


def published_series(path: Path) -> tuple[dict[tuple[str, str], list[dict]], list[dict]]:
    """Rows of ``path`` through the validation runner, grouped by (framework, global batch) and sorted by
    device count; the skipped rows with their reasons."""
    rows = read_rows(path)
    by_id = {row["id"]: row for row in rows}
    report = validate(rows)
    series: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for result in report["rows"]:
        row = by_id[result["id"]]
        series[(row["framework"], row["global_batch_seqs"])].append({**result, "devices": int(row["n_devices"])})
    for points in series.values():
        points.sort(key=lambda p: p["devices"])
    return dict(series), report["summary"]["skipped"]


SHARES = (("bubble", "time/bubble"), ("dp", "time/comm/dp"), ("jitter", "time/jitter"), ("strag", "time/straggler"))
"""Scale-dependent parts of the predicted step, printed as shares of it."""
TERMS = (("compute", ("time/compute", "time/recompute")), ("tp", ("time/comm/tp",)), ("pp", ("time/comm/pp",)),
         ("bubble", ("time/bubble",)), ("dp", ("time/comm/dp",)), ("jitter", ("time/jitter",)),
         ("strag", ("time/straggler",)))
"""Every part of the predicted step, for naming the largest one beside compute."""


def step_shares(row: dict[str, str]) -> dict[str, float]:
    """Shares of the predicted step (fastest plan, as the runner picks it) spent in the scale-dependent parts."""
    summary = _estimate_row(row, [])[3].best_summary()
    step = summary["time"]["time/step"]
    shares = {name: summary["time"].get(key, 0.0) / step for name, key in SHARES}
    parts = {name: sum(summary["time"].get(k, 0.0) for k in keys) / step for name, keys in TERMS}
    top = max((name for name in parts if name != "compute"), key=parts.get)
    shares["top"] = f"{top} {parts[top]:.1%}"
    return shares


def print_published(path: Path, tolerance: float) -> bool:
    """Print each series point by point; True when every point of every series is within ``tolerance``.
    Beside the error, the decline from the series' first point (published and predicted: the trend, apart
    from the level) and the scale-dependent shares of the predicted step."""
    series, skipped = published_series(path)
    by_id = {row["id"]: row for row in read_rows(path)}
    every_point_ok = not skipped
    for (framework, batch), points in series.items():
        print(f"{framework}, global batch {batch} sequences ({points[0]['metric']})")
        print(f"{'id':>10} {'GPUs':>6} {'published':>10} {'predicted':>10} {'error':>7} {'pub d':>7} {'pred d':>7} "
              f"{'bubble':>7} {'dp':>6} {'jitter':>6} {'strag':>6} {'top non-compute':>15}  plan")
        first = points[0]
        for p in points:
            plan = p["plan"]
            error = (p["predicted"] - p["measured"]) / p["measured"]
            shares = step_shares(by_id[p["id"]])
            print(f"{p['id']:>10} {p['devices']:>6} {p['measured']:>10.4g} {p['predicted']:>10.4g} {error:>+7.1%} "
                  f"{p['measured'] / first['measured'] - 1:>+7.1%} {p['predicted'] / first['predicted'] - 1:>+7.1%} "
                  f"{shares['bubble']:>7.1%} {shares['dp']:>6.1%} {shares['jitter']:>6.1%} {shares['strag']:>6.1%} "
                  f"{shares['top']:>15}  "
                  f"tp{plan['tp']} pp{plan['pp']} dp{plan['dp']} v{plan['vpp']} mb{plan['micro_batch']} "
                  f"{plan['recompute']}")
        worst = max(p["ape"] for p in points)
        every_point_ok &= worst <= tolerance
        verdict = "within" if worst <= tolerance else "NOT within"
        print(f"  largest error {worst:.1%}: {verdict} {tolerance:.0%} per point\n")
    for skip in skipped:
        print(f"skipped {skip['id']}: {skip['reason']}")
    errors = sorted(p["ape"] for points in series.values() for p in points)
    if errors:
        middle = len(errors) // 2
        median = errors[middle] if len(errors) % 2 else (errors[middle - 1] + errors[middle]) / 2
        within = sum(e <= tolerance for e in errors)
        print(f"all {len(errors)} points: median error {median:.1%}, largest {errors[-1]:.1%}, "
              f"{within} within {tolerance:.0%}")
    print(f"every point within {tolerance:.0%}: {'yes' if every_point_ok else 'no'}")
    return every_point_ok


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_SERIES)
    parser.add_argument("--tolerance", type=float, default=0.05)
    parser.add_argument("--what-if", action="store_true", help="the GPT-3 175B on A100 + 400G RoCE curve")
    parser.add_argument("--global-batch", type=int, default=1536)
    parser.add_argument("--stack", default="megatron-core")
    args = parser.parse_args()
    if not args.what_if:
        print_published(args.path, args.tolerance)
        return
    print(f"GPT-3 175B, global batch {args.global_batch} x 2048 tokens, stack {args.stack}, A100 + 400G RoCE")
    print(f"{'GPUs':>6} {'MFU':>6} {'step s':>8} {'bubble':>7} {'DP comm':>8}  plan")
    for r in curve(args.global_batch, args.stack):
        if not r.get("mfu"):
            print(f"{r['devices']:>6}  no feasible plan")
            continue
        p = r["plan"]
        print(f"{r['devices']:>6} {r['mfu']:>6.1%} {r['step_time_s']:>8.2f} {r['bubble_share']:>7.1%} "
              f"{r['dp_share']:>8.1%}  tp{p['tp']} pp{p['pp']} dp{p['dp']} v{p['vpp']} mb{p['micro_batch']} "
              f"zero{p['zero_stage']} {p['recompute']}")


if __name__ == "__main__":
    main()
