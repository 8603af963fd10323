"""The ``flopwatt plan`` command (kept apart so that ``flopwatt train`` does not import the search stack)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any

from flopwatt import progress
from flopwatt.errors import InputError
from flopwatt.report import text
from flopwatt.search import sink


def check_outputs(args: argparse.Namespace) -> None:
    """Before any work: ``--out`` new or empty (or ``--overwrite``), its format writable, ``--report`` new
    (or ``--overwrite``)."""
    overwrite = getattr(args, "overwrite", False)
    if args.out is not None:
        sink.check_out_dir(args.out, overwrite)
        sink.require_format(args.format)
    report = getattr(args, "report", None)
    if report is not None and report.exists() and not overwrite:
        raise InputError("--report", "", message=f"{report} exists; choose a new file or pass --overwrite")


def plan_command(args: argparse.Namespace) -> tuple[Any, str]:
    """``flopwatt plan``: search, then the Pareto front and the fastest plans (search modules load lazily)."""
    check_outputs(args)
    from flopwatt.search import config as plan_config
    from flopwatt.search import engine

    cfg = plan_config.load(args.config)
    total = len(engine.work_items(cfg)[1])
    bar, beat = None, None
    if not args.no_progress and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=total, unit="chunk", file=sys.stderr)
    elif progress.wanted(args.no_progress):
        beat = progress.Heartbeat("plan")
    done = {"chunks": 0, "configurations": 0}

    def tick(result: Any) -> Any:
        done["chunks"] += 1
        done["configurations"] += result.configurations
        if bar:
            bar.update(1)
        if beat:
            beat.status = f"{done['chunks']}/{total} chunks, {done['configurations']:,} configurations"
        return result

    with beat or contextlib.nullcontext():
        if beat:
            beat.status = f"0/{total} chunks"
        report = engine.search(cfg, backend=args.backend, workers=args.workers, address=args.address,
                               out_dir=args.out, fmt=args.format, progress=tick,
                               overwrite=getattr(args, "overwrite", False))
    if bar:
        bar.close()
    if not report.front:
        raise InputError("[constraints]", "limits some configuration meets; "
                         + text.plan_eliminations(report), f"{report.configurations:,} configurations")
    payload = {"configurations": report.configurations, "feasible_after_constraints": report.feasible,
               "seconds": report.seconds, "configurations_per_s": report.configurations_per_s,
               "infeasible": report.infeasible, "eliminated": report.eliminated, "pareto_front": report.front,
               "top": report.top, "best_per_system": report.best_per_system,
               "output_dir": str(args.out) if args.out else None,
               "market": plan_config.market_summary(cfg), "assumptions": plan_config.assumptions(cfg)}
    return payload, text.plan(report, args.out, payload["market"], payload["assumptions"], text.plan_question(cfg))
