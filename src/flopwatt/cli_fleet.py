"""The ``flopwatt fleet`` command: simulate a fleet config under one policy, or compare them all."""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from pathlib import Path
from typing import Any

from flopwatt import progress
from flopwatt.errors import InputError


def add_fleet_parser(sub: Any) -> None:
    p = sub.add_parser("fleet", help="schedule jobs and services on heterogeneous pools across sites")
    p.add_argument("config", type=Path, help="TOML: [fleet], [sites.ID], [pools.ID], [classes.ID], [trace], "
                   "[[jobs]], [services.ID]")
    p.add_argument("--policy", default="max-throughput",
                   help="fifo, max-throughput, carbon-aware, price-aware, latency-aware, a module:Class, "
                        "or 'compare' (every built-in policy against fifo)")
    p.add_argument("--trace", type=Path, help="training trace instead of the config's [trace].path")
    p.add_argument("--seed", type=int, help="seed of the class draw for trace jobs, and of a resampled trace "
                   "([trace].synthetic_scale) without its own [trace].seed (default: [fleet].seed)")
    p.add_argument("--max-jobs", type=int, help="only the first N trace jobs (default: [trace].max_jobs or all)")
    p.add_argument("--report", type=Path, help="also write a self-contained HTML report with figures")
    p.add_argument("--workers", type=int, help="local processes for the throughput matrix when it is not cached "
                   "(default: all cores); figures do not depend on it")
    p.add_argument("--json", action="store_true")


def fleet_command(args: argparse.Namespace) -> tuple[Any, str]:
    """Run the simulation(s); the payload holds every metric, the text a summary table."""
    from flopwatt.fleet import config as fleet_config
    from flopwatt.fleet.metrics import summarize, versus
    from flopwatt.fleet.policies import POLICIES, make_policy
    from flopwatt.fleet.simulate import prepare, simulate
    from flopwatt.report.fleet import fleet_table

    if args.seed is not None and args.seed < 0:
        raise InputError("--seed", "an integer >= 0", args.seed)
    if args.max_jobs is not None and args.max_jobs < 1:
        raise InputError("--max-jobs", "an integer >= 1", args.max_jobs)
    if args.workers is not None and args.workers < 1:
        raise InputError("--workers", "an integer >= 1", args.workers)
    if args.trace is not None and not args.trace.is_file():
        raise InputError("--trace", "an existing trace file", str(args.trace))
    cfg = fleet_config.load_config(args.config)
    names = list(POLICIES) if args.policy == "compare" else [args.policy]
    policies = [make_policy(n) for n in names]  # a bad name fails before any work
    beat = progress.Heartbeat("fleet") if progress.wanted() else None
    with beat or contextlib.nullcontext():
        if beat:
            beat.status = "preparing jobs, services and throughput tables"
        t0 = time.perf_counter()
        prep = prepare(cfg, args.trace, args.seed, args.max_jobs, args.workers or os.cpu_count() or 1)
        prepare_s = time.perf_counter() - t0
        runs = {}
        for k, policy in enumerate(policies):
            if beat:
                beat.status = f"simulating policy {k + 1}/{len(policies)} ({policy.name}), {len(prep.jobs):,} jobs"
            t1 = time.perf_counter()
            summary = summarize(simulate(prep, policy))
            summary["simulate_s"] = time.perf_counter() - t1
            runs[policy.name] = summary
    if "fifo" in runs:
        for s in runs.values():
            s["versus_fifo"] = versus(s, runs["fifo"])
    payload = {"fleet": cfg.name, "seed": cfg.seed if args.seed is None else args.seed, "jobs": len(prep.jobs),
               "pools": [p.id for p in cfg.pools], "sites": list(cfg.sites), "prepare_s": prepare_s,
               "throughput_matrix": _matrix(prep), "runs": runs}
    return payload, fleet_table(payload)


def _matrix(prep: Any) -> dict[str, dict[str, list[float]]]:
    """Tokens/s of each class on each system at each evaluated device count (0 = cannot run)."""
    r = prep.rates
    return {"counts": r.counts.tolist(),
            **{c: {s: r.tokens_per_s[i, j].tolist() for j, s in enumerate(r.systems)}
               for i, c in enumerate(r.classes)}}
