"""`flopwatt serve`: one serving estimate, or `serve compare` for accelerators side by side."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from flopwatt import api
from flopwatt.api.requests import ServeCompareRequest, ServeRequest
from flopwatt.cli_options import add_options, relabel, request
from flopwatt.errors import InputError
from flopwatt.report.text import notes


def add_serve_parser(sub) -> None:
    """The ``serve`` sub-command's options, derived from :class:`flopwatt.api.ServeRequest`."""
    srv = sub.add_parser("serve", help="serving estimate: tokens/s, TTFT/TPOT, J/token, $/Mtoken (`serve compare`: "
                         "accelerators side by side at equal SLOs)")
    srv.add_argument("mode", nargs="?", choices=("compare",), help="compare: --accelerator a,b,... side by side")
    add_options(srv, ServeRequest)
    add_options(srv, ServeCompareRequest, skip=tuple(ServeRequest.model_fields))  # compare-only: market
    srv.add_argument("--catalog", type=Path, action="append", help="user catalog directory or TOML fragment")
    srv.add_argument("--json", action="store_true")


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


def _compare_table(results: list) -> str:
    """Perf, perf/W and perf/$ side by side: tokens/s, J per output token at the boards' IT load and at the
    facility (x PUE), $ per million output tokens (total = owning the capex + facility energy); 'unknown'
    cells are explained under the table."""
    rows = [f"{'accelerator':18} {'engine':18} {'devices':>7} {'plan':>20} {'tok/s':>9} {'/device':>8} "
            f"{'TPOT ms':>8} {'TTFT s':>7} {'J/tok IT':>8} {'J/tok fac':>9} {'$/Mtok':>7} {'capex':>7} {'energy':>7}"]
    why = []
    for result in results:
        i, out = result.inputs, {"plan": result.plan}
        if not result.feasible:
            label = "excluded" if result.reason == "market" else "infeasible"
            rows.append(f"{i['accelerator']:18} {i.get('engine', ''):18} {i['devices']:7d}  {label}: {result.message}")
            if "market" in result.details:
                rows.append(f"{'':47}source: {result.details['market']['source']}")
            continue
        m = result.metrics
        rows.append(f"{i['accelerator']:18} {i['engine']:18} {i['devices']:7d} {_plan_text(out):>20} "
                    f"{m['output_tokens_per_s']:9,.0f} "
                    f"{m['tokens_per_s_per_device']:8,.0f} {m['tpot_s'] * 1e3:8.1f} {m['ttft_s']:7.3f} "
                    f"{_text(m.get('it_joules_per_output_token'), '{:8.3f}'):>8} "
                    f"{_text(m['joules_per_output_token'], '{:9.3f}'):>9} "
                    f"{_text(m['usd_per_million_output_tokens'], '{:7.3f}'):>7} "
                    f"{_text(m.get('capex_usd_per_million_output_tokens'), '{:7.3f}'):>7} "
                    f"{_text(m.get('energy_usd_per_million_output_tokens'), '{:7.3f}'):>7}")
        why += [f"  {i['accelerator']}: unknown {u}" for u in result.unknown]
    return "\n".join(rows + (["unknown cells:", *why] if why else []))


def _one_text(req: ServeRequest, result) -> str:
    out = {"plan": result.plan, "metrics": result.metrics, **result.details}
    m, p, i = result.metrics, result.plan, result.inputs
    plan = _split_lines(out) if "prefill" in p else _plan_lines(out)
    return "\n".join([
        f"{i['model']} on {i['devices']} x {i['accelerator']}, {i['precision']}, "
        f"in {i['input_len']:.6g} / out {i['output_len']:.6g} tokens" + _spread(result)
        + (", disaggregated" if "prefill" in p else ""),
        *plan,
        f"output tokens/s {m['output_tokens_per_s']:,.0f} ({m['tokens_per_s_per_device']:,.0f} per device); "
        f"TPOT {m['tpot_s'] * 1e3:.1f} ms; TTFT {m['ttft_s']:.3f} s (p{req.slo_percentile:g}: "
        f"{m['tpot_slo_percentile_s'] * 1e3:.1f} ms, {m['ttft_slo_percentile_s']:.3f} s)",
        *_queue_line(m, req.slo_percentile), *_run_line(m, req),
        f"per output token: {_text(m['joules_per_output_token'], '{:.3f} J')} at the facility; "
        f"{_usd_text(m)} and "
        f"{_text(m['gco2e_per_million_output_tokens'], '{:,.0f} gCO2e')} per million",
        *(_colocated_line(out) if "prefill" in p else []), *notes(result)])


def _run_line(m: dict, req: ServeRequest) -> list[str]:
    """A finite run's throughput against its steady state (none for an endless stream)."""
    if "run_share" not in m:
        return []
    return [f"whole run of {req.prompts:,} prompts: {m['run_share']:.1%} of the steady state's "
            f"{m['steady_output_tokens_per_s']:,.0f} output tokens/s (the last sequences drain at smaller batches)"]


def _usd_text(m: dict) -> str:
    """$ per million output tokens; without a device price, the energy part that is known."""
    energy = m.get("energy_usd_per_million_output_tokens")
    if m.get("usd_per_million_output_tokens") is None and energy is not None:
        return f"$ unknown (energy ${energy:.3f})"
    return _text(m["usd_per_million_output_tokens"], "${:.3f}")


def _plan_lines(out: dict) -> list[str]:
    """The colocated plan; with expert parallelism, its groups and the All-to-All time per iteration."""
    p, m = out["plan"], out["metrics"]
    if p["ep"] == 1:
        return [f"plan: tp={p['tp']} pp={p['pp']} x {p['replicas']} replicas, {p['batch_per_replica']} sequences each"]
    return [f"plan: tp={p['tp']} ep={p['ep']} pp={p['pp']} x {p['replicas']} replicas, {p['batch_per_replica']} "
            f"sequences each ({p['ep']} attention groups of {p['tp']} device{'s' * (p['tp'] > 1)}; experts over "
            f"{p['tp'] * p['ep']}{' per stage' * (p['pp'] > 1)})",
            f"expert All-to-All (dispatch + combine, {out['moe_layers']} MoE layers): "
            f"{m['ep_all_to_all_s'] * 1e3:.1f} ms per iteration over {p['expert_link']}"
            + (" exposed, two micro-batches overlapping it" if p.get("all_to_all_overlap") else "")]


def _spread(result) -> str:
    spread = result.details.get("lengths")
    return "" if spread is None else (f" (output CV {spread['output_cv']:.2f}; a busy slot holds "
                                      f"{spread['slot_context_tokens']:,.0f})")


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
    """Where prompts queue under the TTFT target: the load a replica may take and the wait."""
    if m.get("load_share", 1.0) >= 1.0:
        return []
    return [f"prompt queue: the TTFT target admits {m['load_share']:.0%} of full load (p{percentile:g} wait "
            f"{m['ttft_queue_wait_s']:.2f} s for a free sequence slot and the prefill of earlier prompts)"]


def serve_command(args: argparse.Namespace) -> tuple[Any, str]:
    if args.mode == "compare":
        try:
            results = api.serve_compare(request(ServeCompareRequest, args))
        except InputError as exc:
            raise relabel(exc, ServeCompareRequest) from None
        return [r.payload() for r in results], _compare_table(results)
    compare_only = [name for name in ServeCompareRequest.model_fields
                    if name not in ServeRequest.model_fields and hasattr(args, name)]
    if compare_only:
        raise InputError(f"--{compare_only[0].replace('_', '-')}", "serve compare (one estimate takes no filter)")
    req = request(ServeRequest, args)
    try:
        result = api.serve(req)
    except InputError as exc:
        raise relabel(exc, ServeRequest) from None
    if not result.feasible:
        raise InputError("plan", result.message or "a feasible serving plan")
    return result.payload(), _one_text(req, result)
