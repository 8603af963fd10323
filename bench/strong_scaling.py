"""Strong scaling: GPT-3 175B at a fixed global batch on 256 to 12,288 A100s over 400G RoCE.

The A100 nodes are DGX A100 with their scale-out replaced by one 400 Gb/s RoCE NIC per GPU (a what-if
system built here, not a catalog entry), on a rail-optimised fabric of 51.2T switches (128 x 400G).
For each device count every plan is evaluated and the fastest feasible one is kept.

    python bench/strong_scaling.py [--global-batch 1536] [--stack megatron-core]
"""

from __future__ import annotations

import argparse
import dataclasses

from flopwatt import catalog
from flopwatt.estimate import estimate_training
from flopwatt.fabric.design import design
from flopwatt.fabric.network import FabricSpec
from flopwatt.perf.space import PlanRequest
from flopwatt.specs import TrainingWorkload

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--global-batch", type=int, default=1536)
    parser.add_argument("--stack", default="megatron-core")
    args = parser.parse_args()
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
