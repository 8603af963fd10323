"""Whole-process time of one CLI estimate (not part of the test run).

    python bench/bench_cli.py [--repeat 10] [--open] [--pyc] [--baseline-src OLD/src]

Prints the cores this process may use, ``uptime`` before and after, and the median and minimum wall and CPU
(user+sys) time of ``flopwatt train ... --json`` processes: on a shared machine the wall time follows the load,
the CPU time much less. The floor is printed alongside, measured the same way: a bare Python start, and a start
that imports numpy (which every estimate needs). ``--pyc`` runs with compiled bytecode
cached in a temporary directory (as an installed package starts; by default the environment decides, and
with PYTHONDONTWRITEBYTECODE set every module is compiled from source on each start). ``--baseline-src``
alternates each run with one of another checkout's ``src`` (on PYTHONPATH), so both see the same load.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

COMMAND = [sys.executable, "-m", "flopwatt", "train", "--model", "gpt3-175b", "--accelerator", "a100-sxm4-80gb",
           "--devices", "1536", "--tp", "8", "--pp", "12", "--global-batch", "1536", "--seq-len", "2048",
           "--tokens", "300e9", "--micro-batch", "1", "--recompute", "full", "--stack", "megatron-2021", "--json"]


def _one(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall s, CPU s) of one process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


FLOORS = {"python -c pass (interpreter start)": [sys.executable, "-c", "pass"],
          "python -c 'import numpy' (start + numpy)": [sys.executable, "-c", "import numpy"]}


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def _line(label: str, runs: list[tuple[float, float]]) -> str:
    times, cpu = [w for w, _ in runs], [c for _, c in runs]
    return (f"{label}: wall median {statistics.median(times):.3f} s, min {min(times):.3f} s; CPU (user+sys) "
            f"median {statistics.median(cpu):.3f} s, min {min(cpu):.3f} s over {len(runs)} runs")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--open", action="store_true", help="leave every plan knob open (choose all)")
    parser.add_argument("--pyc", action="store_true", help="cache compiled bytecode (in a temporary directory)")
    parser.add_argument("--baseline-src", help="another checkout's src directory, run alternately")
    args = parser.parse_args()
    command = COMMAND[:6] + ["--devices", "1536", "--global-batch", "1536", "--json"] if args.open else COMMAND
    env = dict(os.environ)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"cores usable: {cores} (os.cpu_count {os.cpu_count()}); uptime before: {_uptime()}")
    with tempfile.TemporaryDirectory() as cache:
        if args.pyc:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = cache
        envs = {label: env for label in FLOORS} | {"this checkout": env}
        if args.baseline_src:
            envs["baseline " + args.baseline_src] = {**env, "PYTHONPATH": os.path.abspath(args.baseline_src)}
        runs: dict[str, list[tuple[float, float]]] = {label: [] for label in envs}
        commands = {label: FLOORS.get(label, command) for label in envs}
        for label, run_env in envs.items():  # warm-up: file cache, and the bytecode with --pyc
            _one(commands[label], run_env)
        for _ in range(args.repeat):  # interleaved, so that every command sees the same load
            for label, run_env in envs.items():
                runs[label].append(_one(commands[label], run_env))
    bytecode = "cached" if args.pyc or not env.get("PYTHONDONTWRITEBYTECODE") else "compiled on each start"
    print(f"one `flopwatt train ... --json` process{' (all knobs open)' if args.open else ''}, bytecode {bytecode}, "
          f"{cores} cores")
    for label, done in runs.items():
        print("  " + _line(label, done))
    print(f"uptime after: {_uptime()}")


if __name__ == "__main__":
    main()
