"""Throughput of evaluate_training: plans evaluated per second (not part of the test run).

    python bench/bench_evaluate.py [--plans 100000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from flopwatt import catalog
from flopwatt.perf.space import PlanRequest, enumerate_plans
from flopwatt.perf.training import evaluate_training
from flopwatt.specs import TrainingWorkload


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--plans", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    model = catalog.get("models", "gpt3-175b")
    system = catalog.get("systems", "dgx-a100-80gb")
    stack = catalog.get("stacks", "megatron-core")
    workload = TrainingWorkload(model=model, seq_len=2048, tokens=300e9)
    space = enumerate_plans(PlanRequest(devices=3072, global_batch=3072), model, stack, system)
    plans = space.take(np.arange(args.plans) % len(space))
    evaluate_training(workload, system, plans.take(np.arange(10)), stack, 3072)  # warm caches
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        evaluate_training(workload, system, plans, stack, 3072)
        times.append(time.perf_counter() - start)
    best = min(times)
    print(f"evaluate_training: {len(plans):,} plans in {best:.3f} s (best of {args.repeat}) "
          f"= {len(plans) / best:,.0f} plans/s  [space of {len(space):,} distinct plans, tiled]")


if __name__ == "__main__":
    main()
