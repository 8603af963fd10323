"""`flopwatt serve`: one serving estimate, or `serve compare` for accelerators side by side."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from flopwatt import catalog
from flopwatt.errors import InputError


def add_serve_parser(sub, _positive_int, _positive_float, _bounded) -> None:
    """The ``serve`` sub-command's options (the argument types come from the main CLI)."""
    srv = sub.add_parser("serve", help="serving estimate: tokens/s, TTFT/TPOT, J/token, $/Mtoken (`serve compare`: "
                         "accelerators side by side at equal SLOs)")
    srv.add_argument("mode", nargs="?", choices=("compare",), help="compare: --accelerator a,b,... side by side")
    srv.add_argument("--model", default="llama2-70b")
    srv.add_argument("--accelerator", default="h100-sxm5-80gb", help="catalog id (compare: a comma-separated list)")
    srv.add_argument("--devices", default="8", help="devices (compare: one count, or one per accelerator)")
    srv.add_argument("--site", default="us-virginia", help="catalog site id (electricity price, grid carbon)")
    srv.add_argument("--cooling", default="air", help="catalog cooling type")
    srv.add_argument("--input-len", type=_positive_float, help="mean prompt tokens (or --lengths-from)")
    srv.add_argument("--output-len", type=_bounded(0.0, strict=True, expected="at least 1 generated token"),
                     help="mean generated tokens (or --lengths-from)")
    srv.add_argument("--lengths-from", type=Path, help="a request trace (Azure LLM schema TIMESTAMP,ContextTokens,"
                     "GeneratedTokens): means and spread of its lengths instead of --input-len/--output-len")
    srv.add_argument("--precision", default="fp8", help="weight/compute precision: bf16, fp8, fp4, int8, int4")
    srv.add_argument("--kv-precision", help="KV-cache precision (default: fp8 with quantised weights, else bf16)")
    srv.add_argument("--ttft-slo", type=_positive_float, help="seconds")
    srv.add_argument("--tpot-slo", type=_positive_float, help="seconds")
    srv.add_argument("--slo-percentile", type=_bounded(1.0, strict=False, expected="a percentage from 1 to 99.9"),
                     default=50.0, help="share of requests that must meet the SLOs, in %% (default 50; MLPerf: 99)")
    srv.add_argument("--kv-admission", choices=("reserve", "on-demand"), default="reserve",
                     help="reserve KV for prompt + output at admission (TensorRT-LLM default) or grow it (vLLM)")
    srv.add_argument("--power-cap-w", type=_positive_float, help="board power limit per device (W): compute slows "
                     "by the DVFS cube rule, the device draws at most the limit")
    srv.add_argument("--tp", type=_positive_int)
    srv.add_argument("--pp", type=_positive_int, help="pipeline stages (searched on SRAM-only chips, else 1)")
    srv.add_argument("--ep", type=_positive_int, help="MoE only: attention groups sharing the experts (expert "
                     "parallelism, may cross the NIC; default: searched over the divisors of the expert count)")
    srv.add_argument("--overlap-all-to-all", dest="overlap", action=argparse.BooleanOptionalAction, default=None,
                     help="MoE with ep > 1: two micro-batches hide each other's expert All-to-Alls under compute "
                     "(DeepSeek-V3 two-batch overlap; default: searched)")
    srv.add_argument("--disaggregate", action=argparse.BooleanOptionalAction, default=False,
                     help="prefill and decode on separate pools (Splitwise/DistServe); reports the P:D split "
                     "and the colocated optimum beside it")
    srv.add_argument("--prefill-devices", type=_positive_int, help="devices of the prefill pool (implies "
                     "--disaggregate; default: searched)")
    srv.add_argument("--json", action="store_true")


def _lengths(args: argparse.Namespace) -> tuple[float, float, Any]:
    """(mean input, mean output, moments or None) from the flags or a request trace."""
    if args.lengths_from is None:
        for flag, value in (("--input-len", args.input_len), ("--output-len", args.output_len)):
            if value is None:
                raise InputError(flag, "a mean token count (or --lengths-from TRACE.csv)")
        return args.input_len, args.output_len, None
    if args.input_len is not None or args.output_len is not None:
        raise InputError("--lengths-from", "either a trace or --input-len/--output-len, not both")
    from flopwatt.fleet.traces import load_azure_llm
    from flopwatt.perf.lengths import Lengths

    trace = load_azure_llm(args.lengths_from)
    moments = Lengths.from_samples(trace.input_tokens, trace.output_tokens)
    return moments.input_tokens, moments.output_tokens, moments


def _serve_requests(args: argparse.Namespace) -> list:
    from flopwatt.serve import ServeRequest

    input_len, output_len, moments = _lengths(args)
    model = catalog.get("models", args.model)
    ids = [a.strip() for a in args.accelerator.split(",")] if args.mode == "compare" else [args.accelerator]
    counts = [c.strip() for c in str(args.devices).split(",")]
    if len(counts) not in (1, len(ids)) or not all(c.isdigit() and int(c) > 0 for c in counts):
        raise InputError("--devices", f"a positive integer, or one per accelerator ({len(ids)})", args.devices)
    devices = [int(c) for c in counts] * (len(ids) // len(counts))
    return [ServeRequest(model=model, system=catalog.system_for(acc), devices=n, input_len=input_len,
                         output_len=output_len, length_moments=moments, precision=args.precision,
                         kv_precision=args.kv_precision,
                         ttft_slo_s=args.ttft_slo, tpot_slo_s=args.tpot_slo, tp=args.tp, pp=args.pp, ep=args.ep,
                         overlap=args.overlap, slo_percentile=args.slo_percentile,
                         kv_reserve=args.kv_admission == "reserve",
                         disaggregate=_disaggregated(args), prefill_devices=args.prefill_devices,
                         power_cap_w=args.power_cap_w)
            for acc, n in zip(ids, devices, strict=True)]


def _disaggregated(args: argparse.Namespace) -> bool:
    return bool(args.disaggregate) or args.prefill_devices is not None


def _plan_text(out: dict) -> str:
    """Short plan: 'tp2 pp1 b64 x4' colocated, 'P2 tp2 / D6 tp2 b64' disaggregated."""
    p = out["plan"]
    if "prefill" in p:
        pre, dec = p["prefill"], p["decode"]
        return f"P{pre['devices']} tp{pre['tp']} / D{dec['devices']} tp{dec['tp']} b{dec['batch_per_replica']}"
    ep = f" ep{p['ep']}" if p.get("ep", 1) > 1 else ""
    return f"tp{p['tp']}{ep} pp{p['pp']} b{p['batch_per_replica']} x{p['replicas']}"


def _text(value: float | None, fmt: str) -> str:
    return fmt.format(value) if value is not None else "unknown"


def _compare_table(requests: list, outs: list[dict]) -> str:
    rows = [f"{'accelerator':18} {'devices':>7} {'plan':>20} {'tok/s':>9} {'/device':>8} {'TPOT ms':>8} "
            f"{'TTFT s':>7} {'J/token':>8} {'$/Mtok':>7}"]
    for req, out in zip(requests, outs, strict=True):
        m = out["metrics"]
        rows.append(f"{req.system.accelerator.id:18} {req.devices:7d} {_plan_text(out):>20} "
                    f"{m['output_tokens_per_s']:9,.0f} "
                    f"{m['tokens_per_s_per_device']:8,.0f} {m['tpot_s'] * 1e3:8.1f} {m['ttft_s']:7.3f} "
                    f"{_text(m['joules_per_output_token'], '{:8.3f}'):>8} "
                    f"{_text(m['usd_per_million_output_tokens'], '{:7.3f}'):>7}")
    return "\n".join(rows)


def _one_text(args: argparse.Namespace, req, out: dict) -> str:
    m, p = out["metrics"], out["plan"]
    plan = _split_lines(out) if "prefill" in p else _plan_lines(req, out)
    return "\n".join([
        f"{req.model.id} on {req.devices} x {req.system.accelerator.id}, {args.precision}, "
        f"in {req.input_len:.6g} / out {req.output_len:.6g} tokens" + _spread(req)
        + (", disaggregated" if "prefill" in p else ""),
        *plan,
        f"output tokens/s {m['output_tokens_per_s']:,.0f} ({m['tokens_per_s_per_device']:,.0f} per device); "
        f"TPOT {m['tpot_s'] * 1e3:.1f} ms; TTFT {m['ttft_s']:.3f} s (p{args.slo_percentile:g}: "
        f"{m['tpot_slo_percentile_s'] * 1e3:.1f} ms, {m['ttft_slo_percentile_s']:.3f} s)",
        *_queue_line(m, args.slo_percentile),
        f"per output token: {_text(m['joules_per_output_token'], '{:.3f} J')} at the facility; "
        f"{_text(m['usd_per_million_output_tokens'], '${:.3f}')} and "
        f"{_text(m['gco2e_per_million_output_tokens'], '{:,.0f} gCO2e')} per million",
        *(_colocated_line(out) if "prefill" in p else [])])


def _plan_lines(req, out: dict) -> list[str]:
    """The colocated plan; with expert parallelism, its groups and the All-to-All time per iteration."""
    p, m = out["plan"], out["metrics"]
    if p["ep"] == 1:
        return [f"plan: tp={p['tp']} pp={p['pp']} x {p['replicas']} replicas, {p['batch_per_replica']} sequences each"]
    return [f"plan: tp={p['tp']} ep={p['ep']} pp={p['pp']} x {p['replicas']} replicas, {p['batch_per_replica']} "
            f"sequences each ({p['ep']} attention groups of {p['tp']} device{'s' * (p['tp'] > 1)}; experts over "
            f"{p['tp'] * p['ep']}{' per stage' * (p['pp'] > 1)})",
            f"expert All-to-All (dispatch + combine, {req.model.moe_layers} MoE layers): "
            f"{m['ep_all_to_all_s'] * 1e3:.1f} ms per iteration over {p['expert_link']}"
            + (" exposed, two micro-batches overlapping it" if p.get("all_to_all_overlap") else "")]


def _spread(req) -> str:
    m = req.length_moments
    return "" if m is None else f" (output CV {m.output_cv():.2f}; a busy slot holds {m.slot_context_tokens():,.0f})"


def _split_lines(out: dict) -> list[str]:
    m, p = out["metrics"], out["plan"]
    pre, dec = p["prefill"], p["decode"]
    return [f"prefill: {pre['devices']} devices, tp={pre['tp']} x {pre['replicas']} replicas, "
            f"{pre['prompts_per_iteration']} prompt(s) per iteration, busy {m['prefill_busy']:.0%}",
            f"decode:  {dec['devices']} devices, tp={dec['tp']} x {dec['replicas']} replicas, "
            f"{dec['batch_per_replica']} sequences each, busy {m['decode_busy']:.0%}",
            f"P:D = {p['ratio']}; TTFT = prefill {m['prefill_s']:.3f} s + KV transfer "
            f"{m['kv_transfer_s'] * 1e3:.1f} ms over {p['kv_link']} "
            f"({m['kv_transfer_bytes_per_request'] / 1e6:,.0f} MB per request) + wait"]


def _colocated_line(out: dict) -> list[str]:
    col = out["colocated"]
    if "infeasible" in col:
        return [f"colocated at the same SLOs: none feasible ({col['infeasible']})"]
    m, p = col["metrics"], col["plan"]
    return [f"colocated at the same SLOs: tp={p['tp']} pp={p['pp']} x {p['replicas']} replicas, "
            f"{p['batch_per_replica']} sequences each: {m['output_tokens_per_s']:,.0f} output tokens/s, TPOT "
            f"{m['tpot_s'] * 1e3:.1f} ms, TTFT {m['ttft_s']:.3f} s; disaggregated/colocated "
            f"{out['disaggregated_over_colocated']:.2f}x"]


def _queue_line(m: dict, percentile: float) -> list[str]:
    """Where prompts queue for prefill under the TTFT target: the load a replica may take and the wait."""
    if m.get("load_share", 1.0) >= 1.0:
        return []
    return [f"prompt queue: the TTFT target admits {m['load_share']:.0%} of full load (p{percentile:g} wait "
            f"{m['ttft_queue_wait_s']:.2f} s for prefill of earlier prompts)"]


def serve_command(args: argparse.Namespace) -> tuple[Any, str]:
    from flopwatt.footprint import default_setting
    from flopwatt.serve import estimate_disaggregated, estimate_serving

    setting = default_setting(args.site, args.cooling)
    requests = _serve_requests(args)
    estimate = estimate_disaggregated if _disaggregated(args) else estimate_serving
    outs = [estimate(req, setting) for req in requests]
    if args.mode == "compare":
        payload = [{"accelerator": r.system.accelerator.id, "devices": r.devices, **o}
                   for r, o in zip(requests, outs, strict=True)]
        return payload, _compare_table(requests, outs)
    return outs[0], _one_text(args, requests[0], outs[0])
