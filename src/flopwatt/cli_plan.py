"""The ``flopwatt plan`` command (kept apart so that ``flopwatt train`` does not import the search stack)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from flopwatt.errors import InputError
from flopwatt.report import text


def plan_command(args: argparse.Namespace) -> tuple[Any, str]:
    """``flopwatt plan``: search, then the Pareto front and the fastest plans (search modules load lazily)."""
    from flopwatt.search import config as plan_config
    from flopwatt.search import engine

    cfg = plan_config.load(args.config)
    bar = None
    if not args.no_progress and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=len(engine.work_items(cfg)[1]), unit="chunk", file=sys.stderr)
    tick = (lambda r: (bar.update(1), r)[1]) if bar else None
    report = engine.search(cfg, backend=args.backend, workers=args.workers, address=args.address,
                           out_dir=args.out, fmt=args.format, progress=tick)
    if bar:
        bar.close()
    if not report.front:
        raise InputError("[constraints]", "limits some configuration meets; "
                         + text.plan_eliminations(report), f"{report.configurations:,} configurations")
    payload = {"configurations": report.configurations, "feasible_after_constraints": report.feasible,
               "seconds": report.seconds, "configurations_per_s": report.configurations_per_s,
               "infeasible": report.infeasible, "eliminated": report.eliminated, "pareto_front": report.front,
               "top": report.top, "output_dir": str(args.out) if args.out else None}
    return payload, text.plan(report, args.out)
