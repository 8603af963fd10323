"""``flopwatt.api.serve`` and ``serve_compare``: serving estimates from typed requests.

The best plan (TP, EP, PP, batch; or the prefill/decode split) comes from :mod:`flopwatt.serve`; its
energy, money and carbon per token from the footprint shared with training (:mod:`flopwatt.serve_cost`).
"""

from __future__ import annotations

from pathlib import Path

from flopwatt import catalog
from flopwatt.api import results
from flopwatt.api.fields import DEFAULTS
from flopwatt.api.requests import ServeCompareRequest, ServeRequest
from flopwatt.api.resolve import Assumptions, resolve_model, resolve_setting, resolve_system
from flopwatt.catalog import engine_memory, engine_profiles
from flopwatt.errors import InputError, unknown_id
from flopwatt.footprint import unknown_parts
from flopwatt.perf.feasibility import COOLING_REASON, cooling_refusal
from flopwatt.perf.lengths import Lengths

# flopwatt.serve and catalog.markets are imported where used: a training command never loads them
# (about a third of the CLI's import time).


def _lengths(req: ServeRequest, allow_files: bool) -> tuple[float, float, object]:
    """(mean input, mean output, moments or None) from the request, a catalog request set or a request trace."""
    if req.output_cv is not None and (req.dataset is not None or req.lengths_from is not None):
        raise InputError("output_cv", "no dataset or lengths_from beside it (they give their own spread)",
                         req.output_cv)
    if req.dataset is not None:
        return _dataset_lengths(req)
    if req.lengths_from is None:
        for name, value in (("input_len", req.input_len), ("output_len", req.output_len)):
            if value is None:
                raise InputError(name, "a mean token count (or lengths_from TRACE.csv, or a dataset)")
        if req.output_cv is not None:
            spread = Lengths(req.input_len, req.output_len, req.output_len ** 2 * (1.0 + req.output_cv ** 2))
            return req.input_len, req.output_len, spread
        return req.input_len, req.output_len, None
    if not allow_files:
        raise InputError("lengths_from", "no file path here (give input_len and output_len)", req.lengths_from)
    if req.input_len is not None or req.output_len is not None:
        raise InputError("lengths_from", "either a trace or input_len/output_len, not both")
    from flopwatt.fleet.traces import load_azure_llm

    trace = load_azure_llm(Path(req.lengths_from))
    moments = Lengths.from_samples(trace.input_tokens, trace.output_tokens)
    return moments.input_tokens, moments.output_tokens, moments


def _dataset_lengths(req: ServeRequest) -> tuple[float, float, object]:
    """A catalog request set's lengths (:meth:`flopwatt.perf.lengths.Lengths.from_dataset`), its outputs at
    ``output_len`` where given; a prompt length or a trace beside it is an error (one source of lengths)."""
    if req.lengths_from is not None or req.input_len is not None:
        raise InputError("dataset", "the request set's own prompt lengths: no input_len or lengths_from beside it",
                         req.dataset)
    table = catalog.serving_datasets()
    if req.dataset not in table:
        raise unknown_id("dataset", req.dataset, table)
    dataset = table[req.dataset]
    cap = dataset.max_output_tokens
    if req.output_len is not None and cap is not None and req.output_len > cap:
        raise InputError("output_len", f"at most the {cap} generated tokens {dataset.id} allows", req.output_len)
    moments = Lengths.from_dataset(dataset, req.output_len)
    return moments.input_tokens, moments.output_tokens, moments


def _weight_notes(precision: str, acc, model, notes: Assumptions) -> None:
    """Say how the weights are held (:func:`flopwatt.serve.weight_notes`)."""
    from flopwatt.serve import weight_notes

    for note in weight_notes(model, precision, acc):
        notes.add(note)


def _core(req: ServeRequest, accelerator: str, devices: int, engine_id: str, notes: Assumptions, allow_files: bool):
    from flopwatt.serve import ServeRequest as CoreServeRequest

    input_len, output_len, moments = _lengths(req, allow_files)
    model = resolve_model(req.model, notes, allow_files=allow_files)
    system = resolve_system(accelerator, None, DEFAULTS["serve.accelerator"], notes)
    notes.defaults(req, {"model": "what is served", "precision": "weights and matmuls",
                         "engine": "the newest profiled open engine whose source gives every field the model reads"})
    if req.kv_precision is None:
        notes.add("kv_precision: fp8 with quantised weights, else bf16 (rule)")
    _weight_notes(req.precision, system.accelerator, model, notes)
    # the request's own tp/pp/ep win over a deployment profile's (engine_profiles.settings)
    engine = engine_profiles.settings(engine_profiles.get(engine_id), req.kv_admission, tp=req.tp, pp=req.pp,
                                      ep=req.ep, accelerator=system.accelerator)
    for line in engine.notes:
        notes.add(line)
    knobs = engine.knobs()
    if req.max_batch is not None:
        knobs["max_batch"] = req.max_batch
        notes.add(f"max batch: {req.max_batch} sequences per engine scheduler (asked; the engine profile's: "
                  f"{engine.max_batch if engine.max_batch is not None else 'none'})")
    if req.gpu_memory_utilization is not None:
        knobs["engine_memory"] = engine_memory.asked_share(engine.engine_memory, req.gpu_memory_utilization)
        notes.add(f"engine memory share: {req.gpu_memory_utilization:g} of each device (asked; replaces the profile's "
                  "share and any reserve)")
    if req.prompts is not None:
        cv = 0.0 if moments is None else moments.output_cv()
        notes.add(f"finite run: {req.prompts} prompts sent at once, split evenly over the replicas; throughput over "
                  f"the whole run, the drain of its last sequences included, output lengths gamma with CV {cv:.2f} "
                  "(flopwatt.perf.serving_run)")
    try:
        return CoreServeRequest(
            model=model, system=system, devices=devices, input_len=input_len, output_len=output_len,
            length_moments=moments, precision=req.precision, kv_precision=req.kv_precision, prompts=req.prompts,
            ttft_slo_s=req.ttft_slo_s, tpot_slo_s=req.tpot_slo_s, overlap=req.overlap_all_to_all,
            slo_percentile=req.slo_percentile, disaggregate=req.disaggregate or req.prefill_devices is not None,
            prefill_devices=req.prefill_devices, power_cap_w=req.power_cap_w, **knobs)
    except InputError as exc:  # a degree the engine profile fixed is named as the profile's field
        raise engine.blame(exc) from exc


def _cost_basis(system, notes: Assumptions) -> None:
    """Say where a serving cost leaves a part out because its figure is unpublished (compare side by side)."""
    acc = system.accelerator
    if acc.board_power_w is not None and system.node_power_max_w is None:
        notes.add(f"host power: {system.id} has no published node power, hosts counted at 0 W (J/token a lower bound)")
    if system.node_price_usd is None and acc.price_usd is not None:
        notes.add(f"capex: {system.id} has no published node price, devices only ({acc.price_usd:,.0f} US$ each; "
                  "hosts and network unpriced, $/token a lower bound)")


def _layer_pass_rule(vendor: str, notes: Assumptions) -> None:
    """Say what fixed time every layer of a forward pass is given (catalog efficiency ``[layer_pass]``)."""
    entry = catalog.efficiency().layer_pass_for(vendor)
    if entry is None:
        notes.add(f"layer pass: no fixed time per layer known for {vendor} devices; none counted beyond the kernels' "
                  "rooflines (unknown)")
        return
    basis = "fitted" if entry.borrowed_from is None else f"ASSUMED: the figure fitted for {entry.borrowed_from}"
    notes.add(f"layer pass: each layer of a forward pass takes {1e6 * entry.fixed_s:g} us beyond its kernels' "
              f"rooflines (launch gaps, fill and drain; catalog efficiency layer_pass.{vendor}, {basis})")


def _expert_split_rule(model, plan: dict, notes: Assumptions) -> None:
    """Say how the experts of an MoE model sit on a tensor-parallel group without expert parallelism
    (:mod:`flopwatt.perf.serving_moe`)."""
    tp, ep = int(plan.get("tp") or 1), int(plan.get("ep") or 1)
    if model.moe is not None and ep == 1 and tp > 1:
        notes.add(f"experts at ep 1: every one of the {tp} tensor-parallel ranks holds a 1/{tp} slice of every expert "
                  "and routes all tokens (TensorRT-LLM's moe_tp_size = tp default) (rule)")


def _kernel_rules(model, plan: dict, accelerator: str, engine_id: str, notes: Assumptions) -> None:
    """Say where measured kernel rates are carried over to this device and engine (catalog serving_kernels.toml,
    :mod:`flopwatt.perf.serving_kernels`)."""
    from flopwatt.perf import serving_kernels as kernels
    if model.mla is not None:
        notes.add(f"MLA decode attention at FlashMLA's rates measured on {kernels.mla_decode_measured_on()}, as shares "
                  f"of this device's BF16 peak and HBM bandwidth (catalog serving_kernels flashmla_decode; ASSUMED for "
                  f"{accelerator} under {engine_id})")
    if model.moe is not None and int(plan.get("ep") or 1) > 1:
        dispatch, combine = kernels.deepep_fixed_latency_s()
        notes.add(f"expert dispatch / combine: a fixed {1e6 * dispatch:.0f} / {1e6 * combine:.0f} us per call, "
                  "DeepEP's low-latency kernels' median over their published table (catalog serving_kernels "
                  f"deepep_low_latency; ASSUMED for {accelerator} under {engine_id})")


def _mesh_rule(system, plan: dict, notes: Assumptions) -> None:
    """Say so when a tensor-parallel group sits on a point-to-point mesh (xGMI): it reaches only the links to its
    own peers (:func:`flopwatt.perf.serving_step.group_tier`)."""
    from flopwatt.perf.serving_step import POINT_TO_POINT
    tp = int(plan.get("tp") or 1)
    if system.scale_up.technology.startswith(POINT_TO_POINT) and 1 < tp < system.scale_up_domain_devices:
        domain = system.scale_up_domain_devices
        notes.add(f"tensor parallel: {system.scale_up.technology} is a point-to-point mesh of {domain} devices, so "
                  f"a group of {tp} drives only its {tp - 1} link{'s' if tp > 2 else ''} to its peers, "
                  f"{tp - 1}/{domain - 1} of each device's scale-up bandwidth (rule)")


def _estimate(req: ServeRequest, core, engine_id: str, notes: Assumptions) -> results.Result:
    from flopwatt.serve import NoFeasiblePlan, estimate_disaggregated, estimate_serving

    setting = resolve_setting(req, notes)
    _cost_basis(core.system, notes)
    _layer_pass_rule(core.system.accelerator.vendor, notes)
    inputs = {"model": core.model.id, "system": core.system.id, "accelerator": core.system.accelerator.id,
              "engine": engine_id, "devices": core.devices, "precision": core.precision, "input_len": core.input_len,
              "output_len": core.output_len, "site": req.site, "cooling": req.cooling}
    refused = cooling_refusal(core.system, req.cooling)
    if refused is not None:  # a facility rule on the system x cooling, before any plan (perf/feasibility.py)
        return results.Result(kind="serve", inputs=inputs, feasible=False, reason=COOLING_REASON, message=refused,
                              plans_evaluated=0, plans_feasible=0, assumptions=notes.items)
    estimate = estimate_disaggregated if core.disaggregate else estimate_serving
    try:
        out = estimate(core, setting)
    except NoFeasiblePlan as exc:
        return results.infeasible("serve", inputs, exc.counts, sum(exc.counts.values()), notes.items,
                                  message=exc.expected)
    metrics = out["metrics"]
    _mesh_rule(core.system, out["plan"], notes)
    _expert_split_rule(core.model, out["plan"], notes)
    _kernel_rules(core.model, out["plan"], core.system.accelerator.id, engine_id, notes)
    unknown = unknown_parts(core.system)
    if metrics.get("unknown"):
        unknown = unknown or [metrics["unknown"]]
    details = {k: out[k] for k in ("colocated", "disaggregated_over_colocated") if k in out}
    details["moe_layers"] = core.model.moe_layers
    if core.length_moments is not None:
        details["lengths"] = {"output_cv": core.length_moments.output_cv(),
                              "slot_context_tokens": core.length_moments.slot_context_tokens()}
    return results.Result(kind="serve", inputs=inputs, feasible=True, plans_evaluated=out["plans_evaluated"],
                          plans_feasible=out["feasible"], plan=out["plan"],
                          metrics={k: v for k, v in metrics.items() if k != "unknown"},
                          unknown=unknown, assumptions=notes.items, details=details)


def _excluded(req: ServeCompareRequest, accelerator: str, devices: int) -> results.Result | None:
    """An accelerator the request's market does not allow, as a result naming the rule; None if allowed."""
    if req.market is None:
        return None
    from flopwatt.catalog import markets

    acc_id = resolve_system(accelerator, None, DEFAULTS["serve.accelerator"], Assumptions()).accelerator.id
    ruling = markets.ruling(req.market, acc_id)
    if ruling["allowed"]:
        return None
    return results.Result(kind="serve", inputs={"accelerator": acc_id, "devices": devices, "market": req.market},
                          feasible=False, reason="market", message=str(ruling["rule"]), plans_evaluated=0,
                          plans_feasible=0, details={"market": ruling})


def serve(req: ServeRequest, *, allow_files: bool = True) -> results.Result:
    """One serving estimate (``allow_files=False``: the web, which takes no file paths)."""
    notes = Assumptions()
    core = _core(req, req.accelerator, req.devices, req.engine, notes, allow_files)
    return _estimate(req, core, req.engine, notes)


def _per_accelerator(name: str, values: list, n: int) -> list:
    """One value for all ``n`` accelerators, or one each."""
    if len(values) not in (1, n):
        raise InputError(name, f"one value, or one per accelerator ({n})", ",".join(map(str, values)))
    return values * n if len(values) == 1 else values


def serve_compare(req: ServeCompareRequest, *, allow_files: bool = True) -> list[results.Result]:
    """The same workload on each accelerator, at equal SLOs; with a market, accelerators its rules do not
    allow come back infeasible with reason 'market' and the rule (nothing is estimated for them)."""
    from flopwatt.catalog import markets

    accs = req.accelerator
    counts = _per_accelerator("devices", req.devices, len(accs))
    engines = _per_accelerator("engine", req.engine, len(accs))
    if req.market is not None and req.market not in markets.markets():
        raise unknown_id("market", req.market, markets.markets())
    out = []
    for acc, n, engine in zip(accs, counts, engines, strict=True):
        excluded = _excluded(req, acc, n)
        if excluded is not None:
            out.append(excluded)
            continue
        notes = Assumptions()
        out.append(_estimate(req, _core(req, acc, n, engine, notes, allow_files), engine, notes))
    return out
