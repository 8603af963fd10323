"""Benchmark: the whole Philly trace (82,247 jobs) on the documented 3-site, 4-accelerator fleet.

    python bench/fleet_philly.py [--config examples/fleet-3site.toml] [--policy max-throughput|all] [--repeat 3]

Prints the wall time of preparing (trace load, throughput matrix from the core models, class
draw) and of simulating each policy, then every policy's metrics against FIFO. Not a test: no
timing is asserted anywhere (issue #8 asks for <= 60 s on 2 cores; the note reports what this prints).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from flopwatt.fleet.config import load_config
from flopwatt.fleet.metrics import summarize, versus
from flopwatt.fleet.policies import POLICIES, make_policy
from flopwatt.fleet.simulate import prepare, simulate

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", type=Path, default=ROOT / "examples" / "fleet-3site.toml")
    ap.add_argument("--policy", default="all")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--json", type=Path, help="also write every summary to this file")
    args = ap.parse_args()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}")
    t0 = time.perf_counter()
    cfg = load_config(args.config)
    prep = prepare(cfg)
    print(f"prepare: {time.perf_counter() - t0:.2f} s for {len(prep.jobs):,} jobs")
    names = list(POLICIES) if args.policy == "all" else [args.policy]
    out = {}
    for name in names:
        times = []
        for _ in range(args.repeat):
            t1 = time.perf_counter()
            summary = summarize(simulate(prep, make_policy(name)))
            times.append(time.perf_counter() - t1)
        out[name] = summary
        print(f"{name:>15}: simulate + metrics {min(times):.2f} s (best of {args.repeat}), "
              f"end to end {time.perf_counter() - t0:.2f} s since start")
    if "fifo" in out:
        print(f"\n{'policy':>15} " + " ".join(f"{k:>18}" for k in versus(out["fifo"], out["fifo"])))
        for name, s in out.items():
            print(f"{name:>15} " + " ".join(f"{v:>18.3f}" if v is not None else f"{'-':>18}"
                                            for v in versus(s, out["fifo"]).values()))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, default=float))


if __name__ == "__main__":
    main()
