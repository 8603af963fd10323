"""The ``flopwatt capacity`` command: a yearly (or quarterly) build-out plan from a TOML config."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from flopwatt.errors import InputError


def add_capacity_parser(sub: Any) -> None:
    p = sub.add_parser("capacity", help="capacity over years: demand -> devices -> MW -> $ and tCO2e by site")
    p.add_argument("config", type=Path, help="TOML: [capacity], [policy], [hardware.ID], [sites.ID], "
                   "[training.ID], [serving.ID]")
    p.add_argument("--csv", type=Path, metavar="PATH", help="also write one CSV row per period and site")
    p.add_argument("--report", dest="capacity_report", type=Path, metavar="F.html",
                   help="also write a self-contained HTML report with the yearly stacks")
    p.add_argument("--json", action="store_true")


def capacity_command(args: argparse.Namespace) -> tuple[Any, str]:
    """Plan, write the CSV/HTML files asked for, return (JSON payload, text summary)."""
    from flopwatt.capacity.config import load_config
    from flopwatt.capacity.output import payload, text, write_csv
    from flopwatt.capacity.plan import run_plan

    for flag, path in (("--csv", args.csv), ("--report", args.capacity_report)):
        if path is not None and not path.parent.is_dir():  # before the plan runs, not after
            raise InputError(flag, "a path in an existing directory", str(path))
    cfg = load_config(args.config)
    result = payload(cfg, run_plan(cfg))
    if args.csv is not None:
        write_csv(args.csv, result)
    if args.capacity_report is not None:
        from flopwatt.report.capacity import write_report

        write_report(args.capacity_report, result)
    return result, text(result)
