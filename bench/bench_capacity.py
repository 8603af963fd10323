"""Whole-process time of `flopwatt capacity` on the shipped scenarios, writing JSON, CSV and HTML
(issue 19 asks for <= 10 s each on 2 cores; not part of the test run).

    python bench/bench_capacity.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ("capacity-hyperscaler", "capacity-east-data-west-compute", "capacity-russia")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        for name in SCENARIOS:
            command = [sys.executable, "-m", "flopwatt", "capacity", str(ROOT / "examples" / f"{name}.toml"), "--json",
                       "--csv", f"{out}/{name}.csv", "--report", f"{out}/{name}.html"]
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                subprocess.run(command, check=True, capture_output=True)
                times.append(time.perf_counter() - start)
            print(f"{name}: median {statistics.median(times):.2f} s, max {max(times):.2f} s over {args.repeat} runs "
                  "(JSON + CSV + HTML)")


if __name__ == "__main__":
    main()
