"""Fleet simulation speed (not part of the test run; no timing is asserted anywhere).

    python bench/bench_fleet.py [--config examples/fleet-3site.toml] [--policy carbon-aware,price-aware|compare]
                                [--max-jobs N] [--repeat 3]

Prints the wall and CPU seconds of preparing (trace, throughput matrix, jobs) and of simulating and
summarising each policy, median of ``--repeat`` runs. CPU seconds (time.process_time) are given beside
wall seconds because other processes share the machine: wall time then grows with their load, CPU
time much less. Issue 22 asks for the whole Philly trace with carbon-aware and price-aware in <= 10 s
and ``--policy compare`` in <= 45 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from flopwatt.fleet.config import load_config
from flopwatt.fleet.metrics import summarize
from flopwatt.fleet.policies import POLICIES, make_policy
from flopwatt.fleet.simulate import prepare, simulate

ROOT = Path(__file__).resolve().parents[1]


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", type=Path, default=ROOT / "examples" / "fleet-3site.toml")
    ap.add_argument("--policy", default="carbon-aware,price-aware")
    ap.add_argument("--max-jobs", type=int)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    names = list(POLICIES) if args.policy == "compare" else args.policy.split(",")
    cfg = load_config(args.config)
    prep, wall, cpu = _timed(lambda: prepare(cfg, None, None, args.max_jobs))
    print(f"os.cpu_count() = {os.cpu_count()}, usable cores {len(os.sched_getaffinity(0))}, load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} (other processes share the machine)")
    print(f"prepare: {wall:.2f} s wall, {cpu:.2f} s CPU for {len(prep.jobs):,} jobs")
    total_wall = total_cpu = 0.0
    for name in names:
        runs = [_timed(lambda n=name: summarize(simulate(prep, make_policy(n)))) for _ in range(args.repeat)]
        wall = statistics.median(r[1] for r in runs)
        cpu = statistics.median(r[2] for r in runs)
        total_wall, total_cpu = total_wall + wall, total_cpu + cpu
        print(f"{name:>15}: simulate + summarise {wall:.2f} s wall, {cpu:.2f} s CPU "
              f"(median of {args.repeat}; walls {', '.join(f'{r[1]:.2f}' for r in runs)})")
    print(f"{'all listed':>15}: {total_wall:.2f} s wall, {total_cpu:.2f} s CPU (medians summed, prepare excluded)")


if __name__ == "__main__":
    main()
