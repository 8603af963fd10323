"""Plan-search throughput (not part of the test run).

    python bench/bench_plan.py [examples/gpt3-175b-384-a100.toml] [--workers 2] [--out DIR]

Prints configurations evaluated, wall time and configurations per second; peak RSS of this process
and its workers (ru_maxrss) shows the memory bound.
"""

from __future__ import annotations

import argparse
import resource
from pathlib import Path

from flopwatt.search import config, engine


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("config", nargs="?", default="examples/gpt3-175b-384-a100.toml", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    cfg = config.load(args.config)
    report = engine.search(cfg, workers=args.workers, out_dir=args.out)
    settings = len(cfg.sites) * len(cfg.cooling)
    peak = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    print(f"{args.config}: {report.configurations:,} configurations ({report.configurations // settings:,} training "
          f"evaluations x {settings} site/cooling settings) in {report.seconds:.1f} s = "
          f"{report.configurations_per_s:,.0f} configurations/s on {args.workers} workers; "
          f"{report.feasible:,} feasible; peak RSS per process {peak / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
