"""Plan-search throughput (not part of the test run).

    python bench/bench_plan.py [CONFIG] [--workers 2] [--repeat 3] [--out DIR]

CONFIG defaults to bench/data/plan_broad.toml (one site, one cooling: no re-costing multiplier).
Prints, as the median of ``--repeat`` runs: distinct training evaluations per second (one per plan
and menu group: system x devices x stack x fabric x media x oversubscription x precision x batch),
the (site, cooling) re-costings per second (configurations: evaluations x settings), how many
evaluate_training rows were computed (items differing only in media share one), the cores this
process may use (os.cpu_count, os.sched_getaffinity) and the load average, since other processes
share the machine; and the CPU seconds of this process and its workers, which the others' load
inflates much less than the wall time. Peak RSS (ru_maxrss) of this process and its workers shows the
memory bound.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
from pathlib import Path

from flopwatt.search import config, engine, run

DEFAULT = Path(__file__).resolve().parent / "data" / "plan_broad.toml"


def model_rows(cfg: config.PlanConfig) -> int:
    """Rows evaluate_training computes: each task (engine._tasks) evaluates once per distinct timing key."""
    groups, items = engine.work_items(cfg)
    rows = 0
    for _, _, bundle in engine._tasks(cfg, groups, items, None, "csv"):
        keys = {repr(run._timing_key(g, start, stop, run._fabric(cfg, g, run.plan_space(cfg, g)[1])))
                for g, start, stop, _ in bundle}
        rows += len(keys) * (bundle[0][2] - bundle[0][1])
    return rows


def _cpu_s() -> float:
    """User + system CPU seconds of this process and its reaped workers."""
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                  resource.getrusage(resource.RUSAGE_CHILDREN)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("config", nargs="?", default=DEFAULT, type=Path)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    cfg = config.load(args.config)
    settings = len(cfg.sites) * len(cfg.cooling)
    seconds, cpu, report = [], [], None
    for _ in range(args.repeat):
        before = _cpu_s()
        report = engine.search(cfg, workers=args.workers, out_dir=args.out)
        seconds.append(report.seconds)
        cpu.append(_cpu_s() - before)
    wall, cpu_s = statistics.median(seconds), statistics.median(cpu)
    evaluations = report.configurations // settings
    peak = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    print(f"{args.config}: {evaluations:,} distinct training evaluations x {settings} (site, cooling) = "
          f"{report.configurations:,} configurations; {report.feasible:,} feasible; "
          f"{model_rows(cfg):,} evaluate_training rows computed")
    print(f"median of {args.repeat} runs {wall:.2f} s (runs: {', '.join(f'{s:.2f}' for s in seconds)}) on "
          f"{args.workers} workers: {evaluations / wall:,.0f} distinct training evaluations/s, "
          f"{report.configurations / wall:,.0f} site x cooling re-costings/s")
    print(f"CPU (this process and its workers, median) {cpu_s:.2f} s = {evaluations / cpu_s:,.0f} distinct training "
          f"evaluations per CPU-second (x {args.workers} workers = {args.workers * evaluations / cpu_s:,.0f}/s "
          "if they had their cores to themselves; derived, not measured)")
    print(f"machine: os.cpu_count() = {os.cpu_count()}, usable cores (sched_getaffinity) = "
          f"{len(os.sched_getaffinity(0))}, load average {', '.join(f'{x:.1f}' for x in os.getloadavg())} "
          f"(other processes share the machine); peak RSS per process {peak / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
