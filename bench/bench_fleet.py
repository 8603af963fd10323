"""Fleet simulation speed, issue 22 (not part of the test run; no timing is asserted anywhere).

    python bench/bench_fleet.py [--config examples/fleet-3site.toml] [--only grid,compare,scaled]
                                [--scale 10] [--scaled-policy max-throughput] [--repeat 1] [--cold]

Each goal is timed as the command a user runs, in a child process (``python -m flopwatt fleet ...``:
imports, trace, throughput matrix, simulation, summary, table), with its wall seconds and its CPU
seconds (user + system of the child, from ``resource.getrusage(RUSAGE_CHILDREN)``). CPU seconds are
given beside wall seconds because other processes share the machine: wall time then grows with their
load, CPU time much less. The machine's core count and load average are printed before and after.
``--repeat N`` runs each case N times (each line printed) and ends with the least wall and CPU time.

Caches: a run keeps the parsed catalog, the parsed traces and the throughput matrix in the cache
directory (``FLOPWATT_CACHE_DIR``; see flopwatt.fleet.trace_cache and rates_cache). By default the
cases use the user's cache, warm after the first run of a config; ``--cold`` gives every run a new,
empty cache directory (everything parsed and searched again, as on a first run).

- ``grid``: the whole Philly trace with carbon-aware, then price-aware (goal: <= 10 s each);
- ``compare``: ``--policy compare``, all five policies (goal: <= 45 s);
- ``scaled``: a trace of ``--scale`` x Philly's jobs resampled from it ([trace].synthetic_scale, seeded by
  [fleet].seed) with the heterogeneity-aware policy (goal: <= 120 s at 10x). Its config is the given one
  with ``synthetic_scale`` added to [trace], written to a temporary directory with its paths made absolute.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _machine() -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"os.cpu_count() = {os.cpu_count()}, usable cores {len(os.sched_getaffinity(0))}, "
            f"load average (1, 5, 15 min) {load}")


def _run(label: str, args: list[str], repeat: int, cold: bool) -> None:
    """Run ``python -m flopwatt fleet ARGS`` ``repeat`` times; print each run's wall and CPU seconds."""
    best_wall = best_cpu = float("inf")
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, "FLOPWATT_CACHE_DIR": cache} if cold else None
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            wall = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "flopwatt", "fleet", *args, "--json"], capture_output=True,
                                  text=True, check=False, cwd=ROOT, env=env)
            wall = time.perf_counter() - wall
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if done.returncode:
            print(f"{label}: FAILED (exit {done.returncode}): {done.stderr.strip()[-400:]}")
            return
        best_wall, best_cpu = min(best_wall, wall), min(best_cpu, cpu)
        jobs = re.search(r'"jobs": (\d+)', done.stdout)
        print(f"{label:>42}: {wall:7.2f} s wall, {cpu:7.2f} s CPU ({int(jobs.group(1)) if jobs else '?':,} jobs; "
              f"{'cold' if cold else 'user'} cache; load now {os.getloadavg()[0]:.1f})", flush=True)
    if repeat > 1:
        print(f"{'least of ' + str(repeat):>42}: {best_wall:7.2f} s wall, {best_cpu:7.2f} s CPU", flush=True)


def _scaled_config(config: Path, scale: float, directory: Path) -> Path:
    """``config`` with ``synthetic_scale = scale`` in its [trace] table and its relative paths made absolute."""
    text = config.read_text()
    if not re.search(r"^\[trace\]\s*$", text, flags=re.M):
        raise SystemExit(f"{config} has no [trace] table to scale")
    text = re.sub(r"^\[trace\]\s*$", f"[trace]\nsynthetic_scale = {scale}", text, count=1, flags=re.M)
    text = re.sub(r'^(\s*(?:path|trace)\s*=\s*")(\.\.?/[^"]*)"',
                  lambda m: f'{m.group(1)}{(config.parent / m.group(2)).resolve()}"', text, flags=re.M)
    out = directory / f"{config.stem}-x{scale:g}.toml"
    out.write_text(text)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", type=Path, default=ROOT / "examples" / "fleet-3site.toml")
    ap.add_argument("--only", default="grid,compare,scaled")
    ap.add_argument("--scale", type=float, default=10.0)
    ap.add_argument("--scaled-policy", default="max-throughput")
    ap.add_argument("--repeat", type=int, default=1, help="runs per case (the least wall and CPU time is printed)")
    ap.add_argument("--cold", action="store_true", help="each run with a new, empty cache directory")
    args = ap.parse_args()
    parts = set(args.only.split(","))
    config = args.config.resolve()
    print(_machine())
    print(f"python {sys.version.split()[0]}; each line: one `python -m flopwatt fleet` process, end to end")
    if "grid" in parts:
        for policy in ("carbon-aware", "price-aware"):
            _run(f"whole trace, --policy {policy}", [str(config), "--policy", policy], args.repeat, args.cold)
    if "compare" in parts:
        _run("whole trace, --policy compare (5 policies)", [str(config), "--policy", "compare"], args.repeat,
             args.cold)
    if "scaled" in parts:
        with tempfile.TemporaryDirectory() as tmp:
            scaled = _scaled_config(config, args.scale, Path(tmp))
            _run(f"{args.scale:g}x resampled trace, {args.scaled_policy}",
                 [str(scaled), "--policy", args.scaled_policy], args.repeat, args.cold)
    print(_machine())


if __name__ == "__main__":
    main()
