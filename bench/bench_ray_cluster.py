"""The plan search on a multi-node Ray cluster (not part of the test run).

    python bench/bench_ray_cluster.py [CONFIG] [--address ADDR | --nodes 2 --cpus-per-node 1]
                                      [--worker-niceness N] [--check-local] [--time-limit S]

CONFIG defaults to bench/data/plan_1e9.toml (1,059,518,516 distinct training evaluations, one site and one
cooling: no re-costing multiplier). Without ``--address`` a cluster of ``--nodes`` Ray nodes is started on
this machine with ``ray start`` (bench/ray_cluster.py: a head and joining nodes, each its own raylet) and
stopped at the end; with it, the search runs on that cluster. Prints the machine's cores and load, the
cluster's nodes (``ray status``), an empty task's round trip (one at a time, and 200 in flight), then the
search: configurations, wall time, evaluations/s, tasks, the tasks' compute share of the CPUs' wall time and
the per-task overhead ((wall x CPUs - task seconds) / tasks), and per worker process: its node, peak RSS
(VmHWM) and CPU seconds (the rest of the wall time went to other people's processes). ``--check-local``
also runs the local backend on as many workers as the cluster has CPUs and says whether the report is
identical. ``--time-limit`` interrupts the search (SIGALRM, the path of Ctrl-C) and reports how far it got
and whether the cluster's tasks stopped.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ray_cluster  # noqa: E402 - bench/ on the path first
from flopwatt.search import config, engine  # noqa: E402

DEFAULT = Path(__file__).resolve().parent / "data" / "plan_1e9.toml"


class TimeLimit(Exception):  # noqa: N818 - it is the event, not an error
    """Raised in the main thread by SIGALRM."""


def _time_limit(signum, frame) -> None:
    raise TimeLimit


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _key(report):
    return (report.configurations, report.feasible, report.infeasible, report.eliminated, report.front,
            report.top, report.best_per_system)


def _round_trips(ray) -> tuple[float, float]:
    """Seconds per empty task: one at a time (latency) and 200 in flight (throughput)."""
    noop = ray.remote(lambda: None)
    ray.get([noop.remote() for _ in range(4)])
    start = time.perf_counter()
    for _ in range(100):
        ray.get(noop.remote())
    serial = (time.perf_counter() - start) / 100
    start = time.perf_counter()
    ray.get([noop.remote() for _ in range(200)])
    return serial, (time.perf_counter() - start) / 200


def _status(address: str, env: dict[str, str]) -> str:
    out = subprocess.run([ray_cluster.RAY, "status", "--address", address], env=env, capture_output=True,
                         text=True, timeout=120, check=False).stdout
    lines = out.splitlines()
    keep = [line for line in lines[lines.index("Active:"):] if line.strip()][:12] if "Active:" in lines else lines
    return "\n".join("  " + line for line in keep)


class Progress:
    """Counts the configurations of finished work items; prints a line every ``every_s`` seconds."""

    def __init__(self, total: int, every_s: float = 60.0) -> None:
        self.total, self.every_s, self.done, self.items = total, every_s, 0, 0
        self.start = self.last = time.perf_counter()

    def __call__(self, result):
        self.done += result.configurations
        self.items += 1
        now = time.perf_counter()
        if now - self.last >= self.every_s:
            self.last = now
            print(f"  ... {self.done:,} of {self.total:,} configurations after {now - self.start:.0f} s "
                  f"({self.done / (now - self.start):,.0f}/s), load {_load()}", flush=True)
        return result


def _workers(stats, cluster) -> list[str]:
    raylets = cluster.raylets() if cluster else {}
    lines = []
    for pid in sorted(stats.worker_pids):
        rss, cpu = ray_cluster.peak_rss_bytes(pid), ray_cluster.cpu_seconds(pid)
        node = raylets.get(ray_cluster.parent(pid) or -1, "?")[:8]
        lines.append(f"  worker pid {pid} on node {node}: peak RSS "
                     f"{'gone' if rss is None else f'{rss / 2**20:.0f} MiB'}, CPU "
                     f"{'gone' if cpu is None else f'{cpu:.0f} s'}")
    return lines


def _stopped(ray, cluster, cpus: int, wait_s: float = 60.0) -> str:
    """After an interrupted search: how long until the cluster's CPUs were free and no task process ran."""
    start = time.perf_counter()
    while time.perf_counter() - start < wait_s:
        running = cluster.task_processes("_timed_task") if cluster else []
        if not running and int(ray.available_resources().get("CPU", 0)) == cpus:
            return f"all {cpus} CPUs free and no task process left {time.perf_counter() - start:.1f} s after"
        time.sleep(0.5)
    return f"NOT stopped after {wait_s:.0f} s: task processes {running}, free CPUs {ray.available_resources()}"


def _search(cfg, args, ray, cluster, cpus: int, total: int) -> None:
    progress = Progress(total)
    if args.time_limit:
        signal.signal(signal.SIGALRM, _time_limit)
        signal.alarm(args.time_limit)
    start = time.perf_counter()
    try:
        report = engine.search(cfg, backend="ray", progress=progress)
    except (TimeLimit, KeyboardInterrupt) as stop:
        elapsed = time.perf_counter() - start
        print(f"INTERRUPTED ({type(stop).__name__}) after {elapsed:.0f} s: {progress.done:,} of {total:,} "
              f"configurations in {progress.items:,} finished work items ({progress.done / elapsed:,.0f}/s)")
        print(f"  cancelled: {_stopped(ray, cluster, cpus)}")
        return
    finally:
        signal.alarm(0)
    t = report.tasks
    settings = len(cfg.sites) * len(cfg.cooling)
    print(f"search: {report.configurations:,} configurations ({report.configurations // settings:,} distinct "
          f"training evaluations x {settings} (site, cooling)), {report.feasible:,} feasible, front "
          f"{len(report.front)} rows")
    print(f"  wall {report.seconds:.1f} s ({t.wall_s:.1f} s of tasks): "
          f"{report.configurations // settings / report.seconds:,.0f} distinct training evaluations/s")
    print(f"  {t.tasks:,} tasks ({report.items:,} work items), {t.task_s / t.tasks:.3f} s computing per task; "
          f"compute share {t.task_s / (t.wall_s * cpus):.1%} of {cpus} CPUs x wall; per-task overhead "
          f"{(t.wall_s * cpus - t.task_s) / t.tasks * 1e3:.1f} ms ((wall x CPUs - task s) / tasks)")
    print("\n".join(_workers(t, cluster)))
    print(f"  driver peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    if args.check_local:
        local = engine.search(cfg, workers=cpus)
        print(f"local backend, {cpus} workers: {local.seconds:.1f} s; identical report: {_key(local) == _key(report)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("config", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--address", help="an existing cluster (default: start --nodes on this machine)")
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--cpus-per-node", type=int, default=1)
    parser.add_argument("--worker-niceness", type=int, help="Ray's RAY_worker_niceness for the cluster started here")
    parser.add_argument("--check-local", action="store_true")
    parser.add_argument("--time-limit", type=int, help="seconds; then the search is interrupted")
    args = parser.parse_args()
    cfg = config.load(args.config)
    groups, items = engine.work_items(cfg)
    total = sum(stop - start for _, start, stop in items) * len(cfg.sites) * len(cfg.cooling)
    print(f"machine: os.cpu_count() {os.cpu_count()}, usable cores {len(os.sched_getaffinity(0))}, niceness "
          f"{os.nice(0)}, load average {_load()}; config {args.config.name}: {total:,} configurations, "
          f"{len(items):,} work items")
    cluster = None if args.address else ray_cluster.start(args.nodes, args.cpus_per_node, args.worker_niceness)
    try:
        address = args.address or cluster.address
        env = cluster.env if cluster else dict(os.environ)
        os.environ.update(env)  # before Ray is imported: it reads RAY_AUTH_MODE once
        import ray

        if cluster:
            took = ", ".join(f"{s:.1f}" for s in cluster.started_s)
            print(f"cluster started here: {args.nodes} x `ray start` ({took} s), address {address}")
        start = time.perf_counter()
        ray.init(address=address, log_to_driver=False)
        cpus = int(ray.cluster_resources().get("CPU", 0))
        alive = [n for n in ray.nodes() if n["Alive"]]
        print(f"ray.init {time.perf_counter() - start:.1f} s; {len(alive)} nodes alive, {cpus} CPUs: "
              + ", ".join(f"{n['NodeID'][:8]} ({n['Resources'].get('CPU', 0):.0f} CPU)" for n in alive))
        print("ray status:\n" + _status(address, env))
        serial, piped = _round_trips(ray)
        print(f"empty task round trip: {serial * 1e3:.2f} ms one at a time, {piped * 1e3:.2f} ms each with 200 "
              "in flight")
        _search(cfg, args, ray, cluster, cpus, total)
        print(f"load average after: {_load()}")
    finally:
        if "ray" in sys.modules:
            sys.modules["ray"].shutdown()
        if cluster:
            cluster.stop()


if __name__ == "__main__":
    main()
