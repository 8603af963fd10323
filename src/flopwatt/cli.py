"""Command line: parse, call the library, print. Every user error is one line on stderr, exit 2."""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from flopwatt import catalog
from flopwatt.errors import ArgumentError, InputError
from flopwatt.units import parse_quantity

# A command imports only what it runs: the other commands' modules (serving, plan search, fleet, capacity,
# calibration, HTML reports) and request models are imported inside their own parser builders and handlers,
# so `flopwatt train` starts without them (tests/test_cli_startup.py checks which modules it loads).


def _validation_kind(text: str) -> str:
    """``validate --kind``, checked against :mod:`flopwatt.validate` only when given: the validation package
    (and the serving model it loads) stays out of every other command's start (argparse would read
    ``choices`` while building the parser)."""
    from flopwatt.validate import KINDS

    if text not in KINDS:
        raise argparse.ArgumentTypeError(f"one of {', '.join(KINDS)}, got {text!r}")
    return text


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2 (instead of argparse's usage + message)
        raise ArgumentError(self.prog, message)


def _positive_int(text: str) -> int:
    try:
        value = int(parse_quantity(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from exc
    if value < 1 or value != parse_quantity(text):
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _common(p: argparse.ArgumentParser, *, report: bool = False) -> None:
    """Options every computing command shares: a user catalog, machine-readable output, an HTML report."""
    p.add_argument("--catalog", type=Path, action="append", help=f"user catalog directory or TOML fragment "
                   f"overlaying the built-in catalog (repeatable; also ${catalog.OVERLAY_ENV})")
    if report:
        p.add_argument("--report", type=Path, help="also write a self-contained HTML report with figures")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _add_train(sub: Any) -> None:
    from flopwatt.cli_options import add_spec_options, command_spec

    train = sub.add_parser("train", help="estimate a training run (open plan knobs are chosen)")
    add_spec_options(train, command_spec("TrainRequest")["options"])  # cached: no pydantic import
    train.add_argument("--config", type=Path, help="TOML file with a [train] table of these settings (flags win)")
    _common(train, report=True)


def _add_catalog(sub: Any) -> None:
    cat = sub.add_parser("catalog", help="list or show catalog entries with their sources")
    cat.add_argument("kind", nargs="?", choices=catalog.KINDS, default=None)
    cat.add_argument("id", nargs="?")
    _common(cat)


def _add_validate(sub: Any) -> None:
    val = sub.add_parser("validate", help="run published measurements through the model")
    val.add_argument("path", type=Path)
    val.add_argument("--kind", type=_validation_kind, metavar="KIND",
                     help="keep the rows of one measurement kind (default: all)")
    _common(val)


def _add_fabric(sub: Any) -> None:
    from flopwatt.api.requests import FabricRequest
    from flopwatt.cli_options import add_options

    fab = sub.add_parser("fabric", help="design a scale-out fabric: counts, bill of materials, $ and W")
    fab.add_argument("mode", nargs="?", choices=("design", "compare"), default="design")
    add_options(fab, FabricRequest)
    _common(fab, report=True)


def _add_plan(sub: Any) -> None:
    from flopwatt.search.sink import FORMATS

    plan = sub.add_parser("plan", help="search the design space: Pareto front of time, $, MWh, tCO2e")
    plan.add_argument("config", type=Path, help="TOML: [workload], [menu], [plan], [constraints], [output]")
    plan.add_argument("--backend", choices=("local", "ray"), default="local")
    plan.add_argument("--address", help="Ray cluster address (e.g. ray://head:10001); "
                                        "default: RAY_ADDRESS, else a local instance")
    plan.add_argument("--workers", type=_positive_int, help="local processes (default: all cores)")
    plan.add_argument("--out", type=Path, help="directory for every feasible configuration (one part per chunk)")
    plan.add_argument("--format", choices=FORMATS, default="parquet")
    plan.add_argument("--overwrite", action="store_true", help="replace the plan files in --out, an existing --report")
    plan.add_argument("--no-progress", action="store_true")
    _common(plan, report=True)


def _add_web(sub: Any) -> None:
    web = sub.add_parser("web", help="HTTP API (/v1/..., /openapi.json) and an interactive page")
    web.add_argument("--host", default="127.0.0.1", help="bind address (default: localhost only)")
    web.add_argument("--port", type=_positive_int, default=8000)
    web.add_argument("--token", help="require this token (X-Flopwatt-Token header) on /v1 requests "
                     "(default: $FLOPWATT_WEB_TOKEN, else none)")
    web.add_argument("--catalog", type=Path, action="append", help="user catalog directory or TOML fragment")


def _add_serve(sub: Any) -> None:
    from flopwatt.cli_serve import add_serve_parser

    add_serve_parser(sub)


def _add_fleet(sub: Any) -> None:
    from flopwatt.cli_fleet import add_fleet_parser

    add_fleet_parser(sub)


def _add_capacity(sub: Any) -> None:
    from flopwatt.cli_capacity import add_capacity_parser

    add_capacity_parser(sub)


def _add_calibrate(sub: Any) -> None:
    from flopwatt.cli_calibrate import add_calibrate_parser

    add_calibrate_parser(sub)


def _add_reliability(sub: Any) -> None:
    from flopwatt.api.requests import ReliabilityRequest
    from flopwatt.cli_options import add_options

    rel = sub.add_parser("reliability", help="interruptions, checkpoint interval and goodput of a job")
    add_options(rel, ReliabilityRequest)
    rel.add_argument("--json", action="store_true")


SUBCOMMANDS = {"train": _add_train, "catalog": _add_catalog, "validate": _add_validate, "fabric": _add_fabric,
               "plan": _add_plan, "web": _add_web, "serve": _add_serve, "fleet": _add_fleet,
               "capacity": _add_capacity, "calibrate": _add_calibrate, "reliability": _add_reliability}
"""Each command's parser builder, in the order ``flopwatt --help`` lists them."""


@functools.cache
def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command-line parser: every command, or (``only``) just one, which parses that command's
    arguments exactly as the whole parser does, without building the others' options and request models."""
    parser = _Parser(prog="flopwatt", description="Planner and simulator for AI infrastructure.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, add in SUBCOMMANDS.items():
        if only is None or name == only:
            add(sub)
    return parser


def _parser_for(argv: list[str] | None) -> argparse.ArgumentParser:
    """The parser of the command ``argv`` names first; the whole parser for anything else (help, typos)."""
    argv = sys.argv[1:] if argv is None else argv
    return build_parser(argv[0] if argv and argv[0] in SUBCOMMANDS else None)


def _train(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    """``api.train``, without pydantic where the options' cached rules settle the request and the result's values
    are plain JSON (:mod:`flopwatt.api.request_spec`, :meth:`flopwatt.api.outcome.Outcome.plain`); else through
    the request model and Result, which give the same values, or the error."""
    from flopwatt.api import request_spec
    from flopwatt.api.training import train_outcome
    from flopwatt.cli_options import command_spec, given, relabel, request
    from flopwatt.report import text

    spec = command_spec("TrainRequest")
    req = request_spec.validate(spec, given(args, spec["fields"])) if args.config is None else None
    if req is None:
        from flopwatt.api.requests import TrainRequest

        req = request(TrainRequest, args, args.config, "train")
    try:
        found = train_outcome(req)
    except InputError as exc:
        raise relabel(exc, spec["fields"]) from None
    payload = found.plain()
    if payload is None:
        from flopwatt.api.results import from_outcome

        result = from_outcome(found)
        payload = result.payload()
    else:
        result = found
    if not result.feasible:
        raise InputError("plan", f"a feasible plan; none of {result.plans_evaluated} is: "
                         f"{text.describe_reasons(result.infeasible)}"
                         + "".join(f"; advice: {a}" for a in result.advice))
    return payload, text.training_result(result)


def _catalog(args: argparse.Namespace) -> tuple[Any, str]:
    from flopwatt.report import text

    kinds = [args.kind] if args.kind else list(catalog.KINDS)
    if args.id is not None:
        entry = catalog.get(args.kind, args.id)
        return _plain(entry), text.catalog_entry(entry)
    tables = {k: getattr(catalog, k)() for k in kinds}
    payload = {k: {i: _plain(e) for i, e in v.items()} for k, v in tables.items()}
    return payload, "\n".join(text.catalog_list(k, v) for k, v in tables.items())


def _plain(entry: Any) -> Any:
    """A catalog entry as JSON-ready values (nested specs by their id)."""
    if is_dataclass(entry):
        out = {}
        for f in fields(entry):
            value = getattr(entry, f.name)
            out[f.name] = value.id if f.name == "accelerator" else _plain(value)
        return out
    if isinstance(entry, tuple):
        return list(entry)
    return entry


def _validate(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    from flopwatt.report import text
    from flopwatt.validate import RELIABILITY_SCHEMA, read_reliability_rows, read_rows, validate, validate_reliability

    if _header(args.path) == RELIABILITY_SCHEMA:
        report = validate_reliability(read_reliability_rows(args.path))
    else:
        report = validate(read_rows(args.path), kind=args.kind)
    return report, text.validation(report)


def _header(path: Path) -> list[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.readline().strip().split(",")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError("validation file", f"a readable CSV file ({exc.__class__.__name__})", str(path)) from exc


def _fabric(args: argparse.Namespace) -> tuple[Any, str]:
    from flopwatt import api
    from flopwatt.api.requests import FabricRequest
    from flopwatt.cli_options import request
    from flopwatt.report import text

    req = request(FabricRequest, args)
    summaries = api.fabric(req)
    if args.mode == "compare" or len(summaries) > 1:
        return summaries, text.fabric_compare(summaries)
    return summaries[0], text.fabric(summaries[0])


def _reliability(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    from flopwatt import api
    from flopwatt.api.requests import ReliabilityRequest
    from flopwatt.cli_options import request
    from flopwatt.report import text

    req = request(ReliabilityRequest, args)
    out = api.reliability(req)
    return out, text.reliability(out, req.devices, req.days, req.params is not None)


def _write_report(command: str, path: Path, payload: Any) -> None:
    """Render the HTML report and write it atomically (a temporary file renamed into place)."""
    from flopwatt.report import html

    render = {"train": html.train_report, "plan": html.plan_report, "fabric": html.fabric_report,
              "fleet": html.fleet_report}[command]
    page = render(json.loads(json.dumps(payload, default=_json_default)))
    if not path.parent.is_dir():
        raise InputError("--report", "a path in an existing directory", str(path))
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(page, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise InputError("--report", f"a writable path ({exc.strerror})", str(path)) from exc


def _web(args: argparse.Namespace) -> int:
    """Start the HTTP server, found as the ``flopwatt.commands`` entry point ``web`` (the CLI never imports
    the server, which is an adapter over the API like the CLI itself)."""
    from importlib.metadata import entry_points  # only here: 10-30 ms of every other command's start

    found = entry_points(group="flopwatt.commands", name="web")
    try:
        serve = next(iter(found)).load()
    except (StopIteration, ImportError):
        raise InputError("web", "the web extra installed (pip install 'flopwatt[web]')") from None
    serve(args.host, args.port, token=args.token)
    return 0


def _overlays(args: argparse.Namespace) -> None:
    for path in getattr(args, "catalog", None) or []:
        catalog.use_overlay(path)


def run_command(argv: list[str]) -> tuple[Any, str]:
    """Parse ``argv`` and run the command in-process: (JSON payload, text). Raises InputError on bad input."""
    args = _parser_for(argv).parse_args(argv)
    _overlays(args)
    with np.errstate(all="ignore"):
        return HANDLERS[args.command](args)


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser_for(argv).parse_args(argv)
    except ArgumentError as exc:
        print(f"{exc.prog}: error: {exc}", file=sys.stderr)
        return 2
    try:
        _overlays(args)
        if args.command == "web":
            return _web(args)
        with np.errstate(all="ignore"):
            payload, human = HANDLERS[args.command](args)
        if getattr(args, "report", None):
            _write_report(args.command, args.report, payload)
    except InputError as exc:
        print(f"flopwatt {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"flopwatt {args.command}: interrupted", file=sys.stderr)
        return 130
    try:
        print(json.dumps(payload, indent=2, default=_json_default) if args.json else human)
    except BrokenPipeError:  # e.g. piped into head: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _serve(args: argparse.Namespace) -> tuple[Any, str]:
    from flopwatt.cli_serve import serve_command

    return serve_command(args)


def _plan(args: argparse.Namespace) -> tuple[Any, str]:
    from flopwatt.cli_plan import plan_command

    return plan_command(args)


def _fleet(args: argparse.Namespace) -> tuple[Any, str]:
    from flopwatt.cli_fleet import fleet_command

    return fleet_command(args)


def _capacity(args: argparse.Namespace) -> tuple[Any, str]:
    from flopwatt.cli_capacity import capacity_command

    return capacity_command(args)


def _calibrate(args: argparse.Namespace) -> tuple[Any, str]:
    from flopwatt.cli_calibrate import calibrate_command

    return calibrate_command(args)


HANDLERS = {"serve": _serve, "train": _train, "catalog": _catalog, "validate": _validate,
            "reliability": _reliability, "fabric": _fabric, "plan": _plan,
            "fleet": _fleet, "capacity": _capacity, "calibrate": _calibrate}


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


if __name__ == "__main__":
    raise SystemExit(main())
