"""Ray backend of the plan search: speed-up over one worker and per-task overhead (not part of the test run).

    python bench/bench_ray.py [CONFIG] [--address ADDR]

CONFIG defaults to examples/gpt3-175b-384-a100.toml. Runs the search with the local backend on 1 and 2
workers, then on Ray with 1 and 2 worker CPUs (a local instance started per run, or the cluster at
``--address``), and prints for each: wall time of the tasks (Ray start-up excluded, printed apart),
configurations/s, the tasks' own seconds and the per-task overhead (wall x workers - task seconds) / tasks.
Also the round trip of an empty Ray task. Prints the cores and the load average: others share the machine.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from flopwatt.search import config, engine

DEFAULT = Path(__file__).resolve().parents[1] / "examples" / "gpt3-175b-384-a100.toml"


def _line(label: str, report, workers: int) -> str:
    t = report.tasks
    overhead = (t.wall_s * workers - t.task_s) / t.tasks if t.tasks else 0.0
    return (f"{label}: {report.configurations:,} configurations in {t.wall_s:.2f} s of tasks "
            f"({report.configurations / t.wall_s:,.0f}/s), {t.tasks} tasks computing {t.task_s:.2f} s on "
            f"{len(t.worker_pids)} process(es), overhead {overhead * 1e3:.1f} ms per task")


def _empty_task_round_trip(ray, n: int = 200) -> float:
    noop = ray.remote(lambda: None)
    ray.get(noop.remote())
    start = time.perf_counter()
    ray.get([noop.remote() for _ in range(n)])
    return (time.perf_counter() - start) / n


def main() -> None:
    import ray

    parser = argparse.ArgumentParser()
    parser.add_argument("config", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--address", help="an existing cluster (ray start --head ...); default: local instances")
    args = parser.parse_args()
    cfg = config.load(args.config)
    print(f"cores usable: {len(os.sched_getaffinity(0))}, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; config {args.config.name}")
    base = {}
    for workers in (1, 2):
        base[workers] = engine.search(cfg, workers=workers)
        print(_line(f"local backend, {workers} worker(s)", base[workers], workers))
    for cpus in (1, 2):
        start = time.perf_counter()
        if args.address:
            ray.init(address=args.address, log_to_driver=False)
        else:
            ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
        up = time.perf_counter() - start
        cpus = int(ray.cluster_resources().get("CPU", cpus))
        try:
            report = engine.search(cfg, backend="ray")
            same = report.front == base[1].front and report.top == base[1].top
            print(_line(f"ray backend, {cpus} CPU(s) (ray.init {up:.1f} s)", report, cpus)
                  + f", same front/top as local: {same}")
            print(f"  empty Ray task round trip: {_empty_task_round_trip(ray) * 1e3:.2f} ms")
        finally:
            ray.shutdown()
        if args.address:
            break
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
