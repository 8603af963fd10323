"""One serving estimate: choose TP, EP, PP and the batch that maximise throughput within memory and SLOs.

Every (tp, ep, pp, batch) candidate is evaluated in one vectorised call of
:func:`flopwatt.perf.serving.evaluate_serving`; the best feasible one is reported with its energy,
money and carbon per token (:mod:`flopwatt.serve_cost`). With ``disaggregate`` the prefill and decode
pools are searched instead (:func:`estimate_disaggregated`, :mod:`flopwatt.perf.disaggregated`). The request
and its checks: :mod:`flopwatt.serve_request` (:class:`ServeRequest` is imported from here too).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from flopwatt import catalog
from flopwatt.energy.power_cap import clock_ratio
from flopwatt.errors import InputError
from flopwatt.footprint import Setting, default_setting
from flopwatt.perf import collectives as coll
from flopwatt.perf import reasons, serving_ep, serving_run
from flopwatt.perf.compute import DeviceRates
from flopwatt.perf.disaggregated import DisaggHardware, DisaggPlans, evaluate_disaggregated
from flopwatt.perf.serving import BYTES, REASONS, ServingHardware, ServingPlans, Slo, evaluate_serving, kv_batch_limit
from flopwatt.perf.space import divisors
from flopwatt.serve_cost import serving_footprint
from flopwatt.serve_request import ServeRequest
from flopwatt.specs import ModelSpec, System

BATCHES = np.unique(np.round(np.geomspace(1, 8192, 60))).astype(int)


class NoFeasiblePlan(InputError):
    """No serving plan is feasible: the message says why, ``counts`` tallies the reasons by name."""

    def __init__(self, message: str, counts: dict[str, int]) -> None:
        super().__init__("plan", message)
        self.counts = counts


def matmul_precision(precision: str, acc) -> str | None:
    """The peak ``acc``'s matmuls run at for weights in ``precision`` (int8/int4 use the fp8 one); None where the
    device has no such peak, so the quantisation is weight-only and the matmuls run at the 16-bit peak."""
    compute = precision if precision in acc.peak_flops_per_s else {"int8": "fp8", "int4": "fp8"}.get(precision)
    return compute if compute in acc.peak_flops_per_s else None


def weight_only_note(precision: str, acc) -> str | None:
    """The assumption line when ``acc`` has no matmul peak at ``precision`` (:func:`matmul_precision`); None
    otherwise."""
    if matmul_precision(precision, acc) is not None:
        return None
    return (f"precision: {precision} is weight-only on {acc.id} (no {precision} matmul peak): weights stored in "
            f"{precision}, matmuls at the {acc.half_precision()} peak (rule)")


def weight_bytes(model: ModelSpec, precision: str) -> tuple[float, str | None]:
    """Bytes per weight at ``precision``, and the assumption line when the model's only released checkpoint keeps
    its routed experts narrower than an 8- or 16-bit ``precision`` (``released_expert_weight_bytes``): engines serve
    those weights as released (gpt-oss's MXFP4 experts with 16-bit activations), so the experts stay at that width
    and the rest at ``precision``, averaged over the parameters (:func:`flopwatt.perf.serving_ep.expert_share`)."""
    asked, released = BYTES[precision], model.released_expert_weight_bytes
    if released is None or released >= asked or asked < 1.0:  # a 4-bit precision asked is taken as given
        return asked, None
    share = serving_ep.expert_share(model)
    mean = share * released + (1.0 - share) * asked
    return mean, (f"weights: {model.id}'s only released checkpoint holds its routed experts at {released:g} bytes "
                  f"per weight (models.toml), kept under precision {precision}: {mean:.3g} bytes per weight on "
                  f"average (rule)")


def weight_notes(model: ModelSpec, precision: str, acc) -> list[str]:
    """The assumption lines about how the weights are held: weight-only on ``acc`` (:func:`weight_only_note`) and the
    released expert width (:func:`weight_bytes`), where they apply."""
    return [n for n in (weight_only_note(precision, acc), weight_bytes(model, precision)[1]) if n]


def _rates(system: System, precision: str, power_cap_w: float | None = None) -> DeviceRates:
    """Peaks, bandwidth and efficiency tables of the device; a power limit slows the arithmetic only."""
    acc, eff = system.accelerator, catalog.efficiency()
    clock = clock_ratio(acc, power_cap_w)
    compute = matmul_precision(precision, acc) or acc.half_precision()  # weight-only: the 16-bit peak
    return DeviceRates(peak_flops_per_s=acc.peak(acc.half_precision()) * clock,
                       linear_peak_flops_per_s=acc.peak(compute) * clock,
                       linear_peak_fraction=eff.low_precision_for(acc.id, compute),
                       hbm_bandwidth_bytes_per_s=acc.streaming_bandwidth_bytes_per_s,
                       gemm_efficiency=eff.gemm_for(acc.id), memory_efficiency=eff.memory_for(acc.id),
                       act_bytes=2.0, overlap_slowdown=eff.overlap_for(acc.id),
                       roofline_norm=eff.roofline_norm)


def _plans(req: ServeRequest) -> ServingPlans:
    """Every (tp, ep, pp, batch) with tp within the scale-up domain and dividing the heads, ep among the
    divisors of the expert count (MoE only, else 1), tp x ep x pp within the devices, and at least one
    sequence per attention group per pipeline stage. Batches are searched per attention group (``BATCHES``
    sequences each), so a replica of ``ep`` groups holds up to ``ep`` x 8192.

    Pipeline depth is searched only on SRAM-only chips, which must spread the weights over many chips;
    on HBM devices it is 1 unless asked for, since the pipeline here has no bubbles or stage imbalance
    and so would flatter deep pipelines. Expert parallelism may leave the scale-up domain (its
    All-to-Alls then cross the NIC).
    """
    system, model = req.system, req.model
    divs = divisors(req.devices)
    tps = np.array([req.tp]) if req.tp else divs[(divs <= system.scale_up_domain_devices) & (model.heads % divs == 0)]
    searched = divs[divs <= model.layers] if not system.accelerator.has_off_chip_memory else np.array([1])
    pps = np.array([req.pp]) if req.pp else searched
    eps = _eps(req)
    grid = np.meshgrid(tps, pps, eps, _group_batches(req, eps), _overlaps(req), indexing="ij")
    tp, pp, ep, per_group, overlap = (g.ravel() for g in grid)
    batch = per_group * ep
    halves = np.where(overlap, 2, 1)  # an overlapped pass runs two halves
    keep = (tp * ep * pp <= req.devices) & (per_group >= halves * pp) & ((ep > 1) | ~overlap)
    keep &= _engine_admits(req, batch / (ep * pp), batch / pp)
    return ServingPlans(tp=tp[keep], pp=pp[keep], batch=batch[keep], ep=ep[keep], overlap=overlap[keep])


def _with_kv_limits(req: ServeRequest, plans: ServingPlans, hardware: ServingHardware,
                    element_bytes: tuple[float, float], slo: Slo) -> ServingPlans:
    """``plans`` plus, for each shape (tp, pp, ep, overlap), the largest batch its KV memory holds
    (:func:`flopwatt.perf.serving.kv_batch_limit`, whole sequences per attention group) where that falls
    between the searched batches: an engine fills the memory it has, not the grid's nearest step below."""
    shapes = np.unique(np.stack([plans.tp, plans.pp, plans.ep, plans.overlap]).T, axis=0)
    if not len(shapes):
        return plans
    tp, pp, ep, overlap = (shapes[:, i] for i in range(4))
    limit = kv_batch_limit(req.model, hardware, (tp, pp, ep), lengths=req.lengths, element_bytes=element_bytes,
                           slo=slo, engine=req.engine)
    per_group = np.floor(limit / ep)
    batch = per_group * ep
    keep = (per_group >= np.where(overlap, 2, 1) * pp) & (per_group < BATCHES[-1])
    keep &= _engine_admits(req, batch / (ep * pp), batch / pp)
    keep &= ~np.isin(per_group, BATCHES)
    extra = ServingPlans(tp=tp[keep], pp=pp[keep], batch=batch[keep], ep=ep[keep], overlap=overlap[keep].astype(bool))
    return ServingPlans(*(np.concatenate([getattr(plans, f), getattr(extra, f)]).astype(getattr(plans, f).dtype)
                          for f in ("tp", "pp", "batch", "ep", "overlap")))


def _group_batches(req: ServeRequest, eps: np.ndarray) -> np.ndarray:
    """Sequences per attention group searched: ``BATCHES``, plus the caps themselves (``max_batch``, and
    ``max_replica_batch`` shared by each ``ep``), so that a run held at a stated load is searched at that load."""
    caps = [req.max_batch] if req.max_batch else []
    if req.max_replica_batch:
        caps += [req.max_replica_batch // e for e in eps if req.max_replica_batch >= e]
    return np.union1d(BATCHES, np.asarray(caps, dtype=int))


def _engine_admits(req: ServeRequest, per_scheduler: np.ndarray, per_replica: np.ndarray) -> np.ndarray:
    """Batches one engine scheduler (an attention group's micro-batch) can run: at most ``max_batch`` sequences,
    and their mean tokens per iteration (one decode token each plus the steady-state prompt tokens of
    :mod:`flopwatt.perf.serving`, ``in / out`` per sequence, none in a decode-only pool) within
    ``max_tokens_per_iteration``. Under pipeline parallelism each of the ``pp`` micro-batches in flight is one
    scheduled batch: TensorRT-LLM holds ``max_batch_size x pipeline parallelism`` sequences
    (NVIDIA/TensorRT-LLM@c8c6df08bd0ead54cd47f7973e1e425c28a174cd cpp/tensorrt_llm/batch_manager/trtGptModel.h:
    ``mMaxNumSequences = mMaxBatchSize * worldConfig.getPipelineParallelism()``), so ``per_scheduler`` is the
    replica's batch over ``ep x pp``. ``per_replica`` (the replica's batch over ``pp``) is held within
    ``max_replica_batch``."""
    ok = np.ones_like(per_scheduler, dtype=bool)
    if req.max_batch is not None:
        ok &= per_scheduler <= req.max_batch
    if req.max_replica_batch is not None:
        ok &= per_replica <= req.max_replica_batch
    if req.max_tokens_per_iteration is not None:
        prompt = 0.0 if req.decode_only else req.input_len / req.output_len
        ok &= per_scheduler * (1.0 + prompt) <= req.max_tokens_per_iteration
    return ok


def _overlaps(req: ServeRequest) -> np.ndarray:
    """All-to-All overlap on or off: as asked, else both for MoE models (only plans with ep > 1 keep it on)."""
    if req.overlap is not None:
        return np.array([req.overlap])
    return np.array([False, True]) if req.model.moe is not None else np.array([False])


def _eps(req: ServeRequest) -> np.ndarray:
    """Expert-parallel degrees: the one asked for, else 1 for dense models and every divisor of the
    expert count for MoE models (each attention group's share of the experts is whole)."""
    if req.ep:
        return np.array([req.ep])
    if req.model.moe is None:
        return np.array([1])
    return divisors(req.model.moe.experts)


def _layer_fixed_s(eff, vendor: str) -> float:
    """The catalog's fixed time per layer of a forward pass for ``vendor`` (0 where none is known)."""
    entry = eff.layer_pass_for(vendor)
    return 0.0 if entry is None else entry.fixed_s


def _setup(req: ServeRequest) -> tuple[ServingHardware, tuple[float, float], Slo]:
    """(hardware, (weight, KV) bytes per element, SLO) of a request."""
    system, acc = req.system, req.system.accelerator
    eff = catalog.efficiency()
    tech = system.scale_up.technology
    up = coll.Tier(system.scale_up, eff.collective_for(tech), measured_all_reduce=eff.all_reduce_measured_for(tech))
    out = coll.Tier(system.scale_out, eff.collective_for(system.scale_out.technology))
    weights, _ = weight_bytes(req.model, req.precision)
    kv = BYTES[req.kv_precision or ("fp8" if req.precision in ("fp8", "fp4", "int4", "int8") else "bf16")]
    memory = acc.hbm_bytes if acc.has_off_chip_memory else acc.sram_bytes
    rates = _rates(system, req.precision, req.power_cap_w)
    hardware = ServingHardware(rates, up, memory, out, system.scale_up_domain_devices,
                               _layer_fixed_s(eff, acc.vendor))
    return hardware, (weights, kv), Slo(req.ttft_slo_s, req.tpot_slo_s, req.slo_percentile)


def estimate_serving(req: ServeRequest, setting: Setting | None = None) -> dict:
    """The best plan (max output tokens/s) with its latency, energy, money and carbon per token;
    InputError when nothing is feasible."""
    system, model = req.system, req.model
    if not req.prompt_fits():
        raise NoFeasiblePlan(f"a prompt within the engine's {req.max_tokens_per_iteration}-token iteration budget "
                             f"(chunked prefill off; input_len {req.input_len:g})", {})
    hardware, element_bytes, slo = _setup(req)
    plans = _with_kv_limits(req, _plans(req), hardware, element_bytes, slo)
    result = evaluate_serving(model, hardware, req.devices, plans, lengths=req.lengths,
                              element_bytes=element_bytes, slo=slo, engine=req.engine)
    if req.prompts is not None:
        _whole_run(req, hardware, plans, element_bytes, result)
    score = np.where(result.feasible, result.metrics["output_tokens_per_s"], -np.inf)
    if not len(score) or not np.isfinite(score).any():
        raise NoFeasiblePlan(_nothing_feasible(result), reasons.counts(REASONS, result.reason))
    i = int(np.argmax(score))
    m = {k: float(v[i]) for k, v in result.metrics.items()}
    m.update(serving_footprint(system, req.devices, m["output_tokens_per_s"], setting or default_setting(),
                               req.power_cap_w))
    return {"plan": {"tp": int(plans.tp[i]), "ep": int(plans.ep[i]), "pp": int(plans.pp[i]),
                     "batch_per_replica": int(plans.batch[i]), "replicas": int(m["replicas"]),
                     "expert_link": _expert_link(req, int(plans.tp[i]), int(plans.ep[i])),
                     "all_to_all_overlap": bool(plans.overlap[i])}, "metrics": m,
            "plans_evaluated": int(len(plans.tp)), "feasible": int(result.feasible.sum())}


def _whole_run(req: ServeRequest, hardware: ServingHardware, plans: ServingPlans, element_bytes: tuple[float, float],
               result) -> None:
    """Throughput over a whole run of ``req.prompts`` sent at once, its drain included
    (:mod:`flopwatt.perf.serving_run`), in place of the steady state's, for every feasible plan; the steady state
    stays as ``steady_output_tokens_per_s``. Prompts are split evenly over the replicas; each step of the drain
    is costed at the plan's own cycle at its batch."""
    m = result.metrics
    m["steady_output_tokens_per_s"] = m["output_tokens_per_s"].copy()
    m["run_share"] = np.ones_like(m["output_tokens_per_s"])
    ok = np.flatnonzero(result.feasible)
    if not len(ok):
        return
    ep = np.ones(len(ok)) if plans.ep is None else plans.ep[ok]
    slots = plans.batch[ok].astype(float)
    levels = serving_run.batch_levels(slots, ep * plans.pp[ok])
    k = serving_run.LEVELS
    at = ServingPlans(tp=np.repeat(plans.tp[ok], k), pp=np.repeat(plans.pp[ok], k), batch=levels.ravel(),
                      ep=None if plans.ep is None else np.repeat(plans.ep[ok], k),
                      overlap=None if plans.overlap is None else np.repeat(plans.overlap[ok], k))
    lengths = req.lengths
    cycles = evaluate_serving(req.model, hardware, req.devices, at, lengths=lengths, element_bytes=element_bytes,
                              engine=req.engine).metrics["tpot_s"].reshape(len(ok), k)
    replicas = m["replicas"][ok]
    rate = replicas * serving_run.run_tokens_per_s(lengths.output_tokens, lengths.output_cv(),
                                                   lengths.max_output_tokens, req.prompts / replicas, slots, levels,
                                                   cycles)
    share = rate / m["output_tokens_per_s"][ok]
    for name in ("output_tokens_per_s", "tokens_per_s_per_device", "input_tokens_per_s", "total_tokens_per_s"):
        m[name][ok] *= share
    m["run_share"][ok] = share


def _expert_link(req: ServeRequest, tp: int, ep: int) -> str | None:
    """The tier the expert All-to-Alls of a tp x ep expert group cross (None at ep = 1: none run)."""
    if ep == 1:
        return None
    system = req.system
    return (system.scale_up if tp * ep <= system.scale_up_domain_devices else system.scale_out).technology


def _nothing_feasible(result) -> str:
    if not len(result.reason):
        return "a feasible serving plan; none fits these devices (fewer sequences than pipeline stages)"
    counts = {REASONS[r]: int((result.reason == r).sum()) for r in range(1, len(REASONS)) if (result.reason == r).any()}
    return (f"a feasible serving plan; none is ({counts}); the fastest TPOT possible here is "
            f"{result.metrics['tpot_s'].min() * 1e3:.1f} ms and the lowest TTFT {result.metrics['ttft_s'].min():.3g} s")


MAX_SPLITS = 128
"""Prefill-pool sizes tried: every count up to this many, else every 2^j-th (a search-grid choice)."""


def _pool_tps(req: ServeRequest) -> np.ndarray:
    """TP degrees a pool may take: within the scale-up domain, dividing the heads, leaving room for the other pool."""
    if req.tp:
        return np.array([req.tp])
    t = np.arange(1, min(req.devices - 1, req.system.scale_up_domain_devices) + 1)
    return t[req.model.heads % t == 0]


def _splits(req: ServeRequest) -> np.ndarray:
    if req.prefill_devices is not None:
        return np.array([req.prefill_devices])
    stride = 1
    while (req.devices - 1) / stride > MAX_SPLITS:
        stride *= 2
    return np.arange(stride, req.devices, stride)


def _disagg_plans(req: ServeRequest) -> DisaggPlans:
    """Every (tp_p, tp_d, P, prompts per prefill iteration, decode batch) whose pools are whole replicas."""
    tps, n = _pool_tps(req), req.devices
    tp_p, tp_d, p = (g.ravel() for g in np.meshgrid(tps, tps, _splits(req), indexing="ij"))
    whole = (p % tp_p == 0) & ((n - p) % tp_d == 0) & (n - p >= tp_d)
    tp_p, tp_d, p = tp_p[whole], tp_d[whole], p[whole]
    budget = req.max_tokens_per_iteration or req.prefill_chunk_tokens or req.input_len
    most = max(1, int(budget // req.input_len))  # whole prompts within the iteration's token budget
    prompts = np.unique(np.minimum(2 ** np.arange(int(np.log2(most)) + 2), most))
    caps = [c for c in (req.max_batch, req.max_replica_batch, req.max_tokens_per_iteration) if c]
    batches = BATCHES[BATCHES <= min(caps, default=BATCHES[-1])]
    i, k, b = (g.ravel() for g in np.meshgrid(np.arange(len(p)), prompts, batches, indexing="ij"))
    return DisaggPlans(tp_prefill=tp_p[i], tp_decode=tp_d[i], prefill_devices=p[i], prompts=k, batch=b)


def _kv_link(hw: ServingHardware, req: ServeRequest) -> coll.Tier:
    """The tier KV caches cross between the pools: the scale-up domain when both pools fit in one, else
    the scale-out NIC (module docstring of :mod:`flopwatt.perf.disaggregated`)."""
    return hw.scale_up if req.devices <= req.system.scale_up_domain_devices else hw.scale_out


def _disagg_plan(plans: DisaggPlans, i: int, m: dict, devices: int, link: str) -> dict:
    p = int(plans.prefill_devices[i])
    return {"prefill": {"devices": p, "tp": int(plans.tp_prefill[i]), "replicas": int(m["replicas_prefill"]),
                        "prompts_per_iteration": int(plans.prompts[i])},
            "decode": {"devices": devices - p, "tp": int(plans.tp_decode[i]), "replicas": int(m["replicas_decode"]),
                       "batch_per_replica": int(plans.batch[i])},
            "ratio": f"{p}:{devices - p}", "kv_link": link}


def _colocated(req: ServeRequest, setting: Setting) -> dict:
    """The colocated optimum at the same devices and SLOs, or why there is none."""
    try:
        return estimate_serving(dataclasses.replace(req, disaggregate=False, prefill_devices=None), setting)
    except InputError as exc:
        return {"infeasible": str(exc)}


def estimate_disaggregated(req: ServeRequest, setting: Setting | None = None) -> dict:
    """The best prefill/decode split (max output tokens/s within memory and SLOs; ties: lower tail TTFT,
    then TPOT) with its latency, pool busy shares, energy, money and carbon per token, and the colocated
    optimum beside it; InputError when nothing is feasible."""
    setting = setting or default_setting()
    plans = _disagg_plans(req)
    if not len(plans.batch):
        field = "--prefill-devices" if req.prefill_devices else "--tp" if req.tp else "--devices"
        raise InputError(field, f"a split into whole replicas; no TP degree in {_pool_tps(req).tolist()} divides "
                         f"both pools of {req.devices} devices", req.prefill_devices or req.tp or req.devices)
    if not req.prompt_fits():
        raise NoFeasiblePlan(f"a prompt within the engine's {req.max_tokens_per_iteration}-token iteration budget "
                             f"(chunked prefill off; input_len {req.input_len:g})", {})
    serving_hw, element_bytes, slo = _setup(req)
    link = _kv_link(serving_hw, req)
    result = evaluate_disaggregated(req.model, DisaggHardware(serving_hw, link), req.devices, plans,
                                    lengths=req.lengths, element_bytes=element_bytes,
                                    slo=slo, engine=req.engine)
    m_all = result.metrics
    score = np.where(result.feasible, m_all["output_tokens_per_s"], -np.inf)
    if not np.isfinite(score).any():
        raise NoFeasiblePlan(_nothing_feasible(result).replace("serving plan", "disaggregated serving plan"),
                             reasons.counts(REASONS, result.reason))
    i = int(np.lexsort((m_all["tpot_slo_percentile_s"], m_all["ttft_slo_percentile_s"], -score))[0])
    m = {k: float(v[i]) for k, v in m_all.items()}
    m.update(serving_footprint(req.system, req.devices, m["output_tokens_per_s"], setting, req.power_cap_w))
    colocated = _colocated(req, setting)
    base = colocated.get("metrics", {}).get("output_tokens_per_s")
    return {"plan": _disagg_plan(plans, i, m, req.devices, link.link.technology), "metrics": m,
            "colocated": colocated, "disaggregated_over_colocated": m["output_tokens_per_s"] / base if base else None,
            "plans_evaluated": int(len(plans.batch)), "feasible": int(result.feasible.sum())}
