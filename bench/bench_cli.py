"""Whole-process time of one CLI estimate (not part of the test run).

    python bench/bench_cli.py [--repeat 10]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

COMMAND = [sys.executable, "-m", "flopwatt", "train", "--model", "gpt3-175b", "--accelerator", "a100-sxm4-80gb",
           "--devices", "1536", "--tp", "8", "--pp", "12", "--global-batch", "1536", "--seq-len", "2048",
           "--tokens", "300e9", "--micro-batch", "1", "--recompute", "full", "--stack", "megatron-2021", "--json"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--open", action="store_true", help="leave every plan knob open (choose all)")
    args = parser.parse_args()
    command = COMMAND[:6] + ["--devices", "1536", "--global-batch", "1536", "--json"] if args.open else COMMAND
    times, cpu = [], []
    for _ in range(args.repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    print(f"one `flopwatt train ... --json` process{' (all knobs open)' if args.open else ''}: "
          f"median {statistics.median(times):.3f} s, min {min(times):.3f} s over {args.repeat} runs; CPU (user+sys) "
          f"median {statistics.median(cpu):.3f} s; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
