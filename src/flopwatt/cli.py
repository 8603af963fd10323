"""Command line: parse, call the library, print. Every user error is one line on stderr, exit 2."""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import sys
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from flopwatt import catalog
from flopwatt.cli_capacity import add_capacity_parser, capacity_command
from flopwatt.cli_fleet import add_fleet_parser, fleet_command
from flopwatt.cli_plan import plan_command
from flopwatt.cli_serve import add_serve_parser, serve_command
from flopwatt.errors import ArgumentError, InputError
from flopwatt.estimate import estimate_training
from flopwatt.fabric.bom import POLICIES
from flopwatt.fabric.design import design
from flopwatt.fabric.design import summary as fabric_summary
from flopwatt.fabric.network import TOPOLOGIES, FabricSpec
from flopwatt.footprint import default_setting, run_footprint
from flopwatt.perf.plans import RECOMPUTE
from flopwatt.perf.space import PlanRequest
from flopwatt.reliability import DAY_S, run_reliability
from flopwatt.report import text
from flopwatt.search.sink import FORMATS
from flopwatt.specs import TrainingWorkload
from flopwatt.units import parse_quantity
from flopwatt.validate import (
    KINDS,
    RELIABILITY_SCHEMA,
    read_reliability_rows,
    read_rows,
    validate,
    validate_reliability,
)

DEFAULTS = {"model": "gpt3-175b", "accelerator": "a100-sxm4-80gb", "devices": 1024, "global_batch": 1536,
            "tokens": 300e9, "stack": "megatron-core"}


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


def _bounded(lowest: float, *, strict: bool, expected: str):
    """An argparse type: a number (300e9, 15T) that must exceed (``strict``) or reach ``lowest``."""

    def parse(text: str) -> float:
        try:
            value = parse_quantity(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from exc
        if value < lowest or (strict and value == lowest):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


_positive_float = _bounded(0.0, strict=True, expected="a positive number (e.g. 300e9 or 300B)")
_non_negative_float = _bounded(0.0, strict=False, expected="a number >= 0")
_pue = _bounded(1.0, strict=False, expected="a PUE >= 1 (facility energy over IT energy)")
_ratio = _bounded(1.0, strict=False, expected="a ratio >= 1 (downlink : uplink)")


def _add_train_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=DEFAULTS["model"], help="catalog model id (default %(default)s)")
    p.add_argument("--accelerator", help=f"catalog accelerator id (default {DEFAULTS['accelerator']})")
    p.add_argument("--system", help="catalog system id (default: the catalog's system for the accelerator)")
    p.add_argument("--devices", type=_positive_int, default=DEFAULTS["devices"])
    p.add_argument("--global-batch", type=_positive_int, default=DEFAULTS["global_batch"], help="sequences per step")
    p.add_argument("--seq-len", type=_positive_int, help="tokens per sequence (default: the model's context)")
    p.add_argument("--tokens", type=_positive_float, default=DEFAULTS["tokens"], help="training tokens, e.g. 300e9")
    p.add_argument("--precision", help="matmul precision (default: bf16, or fp16 where the device has no bf16)")
    p.add_argument("--stack", default=DEFAULTS["stack"], help="software stack profile id")
    for knob in ("tp", "pp", "dp", "vpp", "micro-batch", "ep", "cp"):
        p.add_argument(f"--{knob}", type=_positive_int, help="fixed; chosen when left out")
    p.add_argument("--zero", type=int, choices=(0, 1, 2, 3), help="ZeRO stage; chosen when left out")
    p.add_argument("--recompute", choices=RECOMPUTE, help="activation recomputation; chosen when left out")
    p.add_argument("--sequence-parallel", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--site", default="us-virginia", help="catalog site id (electricity price, grid carbon, climate)")
    p.add_argument("--cooling", default="air", help="catalog cooling type (air, rear-door, direct-liquid, immersion)")
    p.add_argument("--pue", type=_pue, help="a measured PUE to use instead of the cooling/climate estimate")
    p.add_argument("--pue-cap", type=_pue, help="policy cap: fail if the facility's PUE exceeds it (e.g. 1.3)")
    p.add_argument("--electricity-price", type=_non_negative_float, help="US$/kWh, instead of the site's")
    p.add_argument("--carbon-intensity", type=_non_negative_float, help="gCO2e/kWh, instead of the site's grid")
    p.add_argument("--price-factor", type=_positive_float, default=1.0,
                   help="multiplies accelerator/node prices (margins, discounts); default 1")
    p.add_argument("--fabric", choices=TOPOLOGIES, help="scale-out topology (default: ideal non-blocking network)")
    _fabric_options(p)
    p.add_argument("--config", type=Path, help="TOML file with a [train] table of these options (flags win)")
    p.add_argument("--report", type=Path, help="also write a self-contained HTML report with figures")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _fabric_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--switch", default="eth-51t2-400g", help="catalog switch id (sets radix and port rate)")
    p.add_argument("--media", default="auto", choices=POLICIES, help="link media policy")
    p.add_argument("--oversubscription", type=_ratio, default=1.0, help="leaf downlink : uplink (default 1)")
    p.add_argument("--rails", type=_positive_int, help="NICs per node on separate rails (default: the system's)")
    p.add_argument("--radix", type=_positive_int, help="switch ports, overriding the part's (what-if)")
    p.add_argument("--dragonfly", type=_shape, help="dragonfly shape P,A,H (default: balanced for the radix)")
    p.add_argument("--torus", type=_shape, help="torus dimensions X,Y[,Z] (default: most cubic)")


def _shape(text: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(x) for x in text.replace("x", ",").split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected integers like 8,16,8, got {text!r}") from exc
    if not dims or any(d < 1 for d in dims):
        raise argparse.ArgumentTypeError(f"expected positive integers like 8,16,8, got {text!r}")
    return dims


@functools.cache
def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="flopwatt", description="Planner and simulator for AI infrastructure.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_train_arguments(sub.add_parser("train", help="estimate a training run (open plan knobs are chosen)"))
    cat = sub.add_parser("catalog", help="list or show catalog entries with their sources")
    cat.add_argument("kind", nargs="?", choices=catalog.KINDS, default=None)
    cat.add_argument("id", nargs="?")
    cat.add_argument("--json", action="store_true")
    val = sub.add_parser("validate", help="run published measurements through the model")
    val.add_argument("path", type=Path)
    val.add_argument("--kind", choices=KINDS)
    val.add_argument("--json", action="store_true")
    fab = sub.add_parser("fabric", help="design a scale-out fabric: counts, bill of materials, $ and W")
    fab.add_argument("mode", nargs="?", choices=("design", "compare"), default="design")
    fab.add_argument("--topology", default="rail-optimized",
                     help=f"one of {', '.join(TOPOLOGIES)}; comma-separated to compare")
    fab.add_argument("--endpoints", type=_positive_int, required=True, help="NICs to connect (one per device)")
    _fabric_options(fab)
    fab.add_argument("--report", type=Path, help="also write a self-contained HTML report with figures")
    fab.add_argument("--json", action="store_true")
    plan = sub.add_parser("plan", help="search the design space: Pareto front of time, $, MWh, tCO2e")
    plan.add_argument("config", type=Path, help="TOML: [workload], [menu], [plan], [constraints], [output]")
    plan.add_argument("--backend", choices=("local", "ray"), default="local")
    plan.add_argument("--address", help="Ray cluster address (e.g. ray://head:10001); default: a local instance")
    plan.add_argument("--workers", type=_positive_int, help="local processes (default: all cores)")
    plan.add_argument("--out", type=Path, help="directory for every feasible configuration (one part per chunk)")
    plan.add_argument("--format", choices=FORMATS, default="parquet")
    plan.add_argument("--no-progress", action="store_true")
    plan.add_argument("--report", type=Path, help="also write a self-contained HTML report with figures")
    plan.add_argument("--json", action="store_true")
    web = sub.add_parser("web", help="HTTP API (/v1/..., /openapi.json) and an interactive page")
    web.add_argument("--host", default="127.0.0.1", help="bind address (default: localhost only)")
    web.add_argument("--port", type=_positive_int, default=8000)
    add_serve_parser(sub, _positive_int, _positive_float, _bounded)
    add_fleet_parser(sub)
    add_capacity_parser(sub)
    rel = sub.add_parser("reliability", help="interruptions, checkpoint interval and goodput of a job")
    rel.add_argument("--devices", type=_positive_int, required=True)
    rel.add_argument("--days", type=_positive_float, required=True, help="failure-free duration of the job")
    rel.add_argument("--params", type=_positive_float, help="model parameters (sets the checkpoint size)")
    rel.add_argument("--json", action="store_true")
    return parser


def _apply_config(args: argparse.Namespace) -> None:
    """Fill options the command line left unset from ``--config``'s [train] table (exact keys)."""
    if args.config is None:
        return
    data = catalog.read_toml(args.config, "--config")
    table = data.get("train")
    if not isinstance(table, dict) or set(data) != {"train"}:
        raise InputError(f"{args.config}", "a single [train] table")
    train = _Parser(prog="flopwatt train")
    _add_train_arguments(train)
    options = {a.dest: a for a in train._actions if a.dest not in ("help", "config", "json")}
    for key, value in table.items():
        dest = key.replace("-", "_")
        if dest not in options:
            raise InputError(f"{args.config} [train].{key}", f"one of {', '.join(sorted(options))}")
        if getattr(args, dest) not in (None, train.get_default(dest)):
            continue  # given on the command line
        setattr(args, dest, _config_value(options[dest], f"{args.config} [train].{key}", value))


def _config_value(action: argparse.Action, field: str, value: Any) -> Any:
    if isinstance(value, bool) or action.type is None:
        if action.choices is not None and value not in action.choices:
            raise InputError(field, f"one of {', '.join(map(str, action.choices))}", value)
        return value
    try:
        converted = action.type(str(value))
    except (argparse.ArgumentTypeError, ValueError) as exc:
        raise InputError(field, str(exc).removeprefix("expected "), value, message=str(exc)) from exc
    if action.choices is not None and converted not in action.choices:
        raise InputError(field, f"one of {', '.join(map(str, action.choices))}", value)
    return converted


def _check_moe_knobs(model: Any, ep: int | None) -> None:
    if ep is None or ep == 1:
        return
    if model.moe is None:
        raise InputError("--ep", f"1 ({model.id} is dense: expert parallelism needs experts)", ep)
    if model.moe.experts % ep:
        raise InputError("--ep", f"a divisor of the {model.moe.experts} experts of {model.id}", ep)


def _train(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    model = catalog.get("models", args.model)
    if args.system:
        system = catalog.get("systems", args.system)
        if args.accelerator and system.accelerator.id != args.accelerator:
            raise InputError("--system", f"a system of {args.accelerator} devices", args.system)
    else:
        system = catalog.system_for(args.accelerator or DEFAULTS["accelerator"])
    stack = catalog.get("stacks", args.stack)
    seq = args.seq_len or model.seq_len
    if seq is None:
        raise InputError("--seq-len", f"a value ({model.id} has no published context length)")
    precision = args.precision or system.accelerator.half_precision()
    system.accelerator.peak(precision)  # unknown precision for this device: one clear line
    workload = TrainingWorkload(model=model, seq_len=seq, tokens=args.tokens, precision=precision)
    _check_moe_knobs(model, args.ep)
    request = PlanRequest(devices=args.devices, global_batch=args.global_batch, tp=args.tp, pp=args.pp, dp=args.dp,
                          cp=args.cp or 1, ep=args.ep, vpp=args.vpp, micro_batch=args.micro_batch, zero_stage=args.zero,
                          recompute=args.recompute, sequence_parallel=args.sequence_parallel)
    fabric = None
    if args.fabric:
        spec = _fabric_spec(args, args.fabric)
        fabric = design(spec, args.devices, system.devices_per_node)
    estimate = estimate_training(workload, system, stack, request, fabric=fabric[0] if fabric else None)
    if estimate.best is None:
        why = text.describe_reasons(estimate.infeasible_counts())
        raise InputError("plan", f"a feasible plan; none of {len(estimate.result)} is: {why}")
    summary = estimate.best_summary()
    setting = default_setting(args.site, args.cooling)
    site = dataclasses.replace(
        setting.site,
        electricity_usd_per_kwh=setting.site.electricity_usd_per_kwh if args.electricity_price is None
        else args.electricity_price,
        carbon_g_per_kwh=setting.site.carbon_g_per_kwh if args.carbon_intensity is None else args.carbon_intensity)
    setting = dataclasses.replace(setting, site=site, pue_override=args.pue, accelerator_price_factor=args.price_factor)
    footprint = run_footprint(estimate.result.take(np.array([estimate.best])), workload, system, args.devices,
                              setting, fabric)
    summary["footprint"] = {k: float(v[0]) for k, v in footprint.items()}
    pue = summary["footprint"]["facility/pue"]
    if args.pue_cap is not None and pue > args.pue_cap:
        raise InputError("--pue-cap", f"a site/cooling meeting it: {args.cooling} at {args.site} gives PUE {pue:.2f}",
                         args.pue_cap)
    header = {"model": model.id, "system": system.id, "devices": str(args.devices), "stack": stack.id,
              "precision": precision, "seq_len": str(seq), "site": args.site, "cooling": args.cooling,
              "plans evaluated": str(len(estimate.result)), "feasible": str(int(estimate.result.feasible.sum()))}
    if fabric is not None:
        header["fabric"] = f"{args.fabric}, {fabric[0].topology.switches:,} switches, media {args.media}"
    payload = {"workload": {"model": model.id, "seq_len": seq, "tokens": args.tokens, "precision": precision},
               "system": system.id, "devices": args.devices, "stack": stack.id, "site": args.site,
               "cooling": args.cooling, "plans_evaluated": len(estimate.result),
               "infeasible": estimate.infeasible_counts(),
               "fabric": fabric_summary(*fabric) if fabric else None, **summary}
    return payload, text.training_estimate(summary, header)


def _catalog(args: argparse.Namespace) -> tuple[Any, str]:
    kinds = [args.kind] if args.kind else list(catalog.KINDS)
    if args.id:
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


def _fabric_spec(args: argparse.Namespace, kind: str) -> FabricSpec:
    if args.dragonfly is not None and len(args.dragonfly) != 3:
        raise InputError("--dragonfly", "three integers P,A,H", args.dragonfly)
    return FabricSpec(topology=kind, switch=args.switch, media=args.media, oversubscription=args.oversubscription,
                      rails=args.rails, radix=args.radix, dragonfly=args.dragonfly, torus=args.torus)


def _fabric(args: argparse.Namespace) -> tuple[Any, str]:
    kinds = [k.strip() for k in args.topology.split(",") if k.strip()]
    if not kinds:
        raise InputError("--topology", f"one or more of {', '.join(TOPOLOGIES)} (comma-separated)", args.topology)
    summaries = []
    for kind in kinds:
        spec = _fabric_spec(args, kind)
        summaries.append(fabric_summary(*design(spec, args.endpoints, args.rails or 8)))
    if args.mode == "compare" or len(summaries) > 1:
        return summaries, text.fabric_compare(summaries)
    return summaries[0], text.fabric(summaries[0])


def _reliability(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    model = catalog.failure_model()
    work = np.array([args.days * DAY_S])
    params = args.params or 0.0
    out = {k: float(v[0]) for k, v in run_reliability(work, np.array([args.devices]), params, model).items()}
    out["reliability/by_component"] = {k: r * args.devices * work[0] for k, r in model.rates_per_device_s.items()}
    return out, text.reliability(out, args.devices, args.days, bool(args.params))


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
    try:
        from flopwatt.server.app import serve
    except ImportError:
        print("flopwatt web: error: the web extra is not installed (pip install 'flopwatt[web]')", file=sys.stderr)
        return 2
    serve(args.host, args.port)
    return 0


def run_command(argv: list[str]) -> tuple[Any, str]:
    """Parse ``argv`` and run the command: (JSON payload, text). Raises InputError on bad input.

    The HTTP API calls this too, so both front ends validate and compute identically.
    """
    args = build_parser().parse_args(argv)
    if args.command == "train":
        _apply_config(args)
    with np.errstate(all="ignore"):
        return HANDLERS[args.command](args)


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except ArgumentError as exc:
        print(f"{exc.prog}: error: {exc}", file=sys.stderr)
        return 2
    if args.command == "web":
        return _web(args)
    handlers = HANDLERS
    try:
        if args.command == "train":
            _apply_config(args)
        with np.errstate(all="ignore"):
            payload, human = handlers[args.command](args)
    except InputError as exc:
        print(f"flopwatt {args.command}: error: {exc}", file=sys.stderr)
        return 2
    if getattr(args, "report", None):
        try:
            _write_report(args.command, args.report, payload)
        except InputError as exc:
            print(f"flopwatt {args.command}: error: {exc}", file=sys.stderr)
            return 2
    try:
        print(json.dumps(payload, indent=2, default=_json_default) if args.json else human)
    except BrokenPipeError:  # e.g. piped into head: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


HANDLERS = {"serve": serve_command, "train": _train, "catalog": _catalog, "validate": _validate,
            "reliability": _reliability, "fabric": _fabric, "plan": plan_command,
            "fleet": fleet_command, "capacity": capacity_command}


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


if __name__ == "__main__":
    raise SystemExit(main())
