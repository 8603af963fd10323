"""One serving estimate: choose TP, PP and the batch that maximise throughput within memory and SLOs.

Every (tp, pp, batch) candidate is evaluated in one vectorised call of
:func:`flopwatt.perf.serving.evaluate_serving`; the best feasible one is reported with its energy,
money and carbon per token (:mod:`flopwatt.serve_cost`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flopwatt import catalog
from flopwatt.errors import InputError
from flopwatt.footprint import Setting, default_setting
from flopwatt.perf import collectives as coll
from flopwatt.perf.compute import DeviceRates
from flopwatt.perf.serving import BYTES, REASONS, ServingHardware, ServingPlans, Slo, evaluate_serving
from flopwatt.perf.space import divisors
from flopwatt.serve_cost import serving_footprint
from flopwatt.specs import ModelSpec, System

BATCHES = np.unique(np.round(np.geomspace(1, 8192, 60))).astype(int)


@dataclass(frozen=True, kw_only=True, slots=True)
class ServeRequest:
    model: ModelSpec
    system: System
    devices: int
    input_len: float
    output_len: float
    precision: str = "fp8"
    kv_precision: str | None = None
    ttft_slo_s: float | None = None
    tpot_slo_s: float | None = None
    slo_percentile: float = 50.0
    """Share of requests (in %) that must meet the SLOs (50 = median, 99 = MLPerf server)."""
    kv_reserve: bool = True
    """KV blocks for prompt + output are reserved at admission (TensorRT-LLM GUARANTEED_NO_EVICT)."""
    tp: int | None = None
    pp: int | None = None

    def __post_init__(self) -> None:
        if not self.output_len >= 1:
            raise InputError("--output-len", "at least 1 generated token", self.output_len)
        if not self.input_len >= 1:
            raise InputError("--input-len", "at least 1 prompt token", self.input_len)
        if not 1 <= self.slo_percentile <= 99.9:
            raise InputError("--slo-percentile", "a percentage from 1 to 99.9", self.slo_percentile)
        if self.precision not in BYTES:
            raise InputError("--precision", f"one of {', '.join(BYTES)}", self.precision)


def _rates(system: System, precision: str) -> DeviceRates:
    acc, eff = system.accelerator, catalog.efficiency()
    compute = precision if precision in acc.peak_flops_per_s else {"int8": "fp8", "int4": "fp8"}.get(precision)
    if compute not in acc.peak_flops_per_s:
        compute = acc.half_precision()  # weight-only quantisation: matmuls run at the 16-bit peak
    return DeviceRates(peak_flops_per_s=acc.peak(acc.half_precision()), linear_peak_flops_per_s=acc.peak(compute),
                       hbm_bandwidth_bytes_per_s=acc.streaming_bandwidth_bytes_per_s,
                       gemm_efficiency=eff.gemm_for(acc.id), memory_efficiency=eff.memory_for(acc.id),
                       act_bytes=2.0, overlap_slowdown=eff.overlap_for(acc.id))


def _plans(req: ServeRequest) -> ServingPlans:
    """Every (tp, pp, batch) within the scale-up domain, the heads, the layers and the devices.

    Pipeline depth is searched only on SRAM-only chips, which must spread the weights over many chips;
    on HBM devices it is 1 unless asked for, since the pipeline here has no bubbles or stage imbalance
    and so would flatter deep pipelines.
    """
    system, model = req.system, req.model
    divs = divisors(req.devices)
    tps = np.array([req.tp]) if req.tp else divs[(divs <= system.scale_up_domain_devices) & (model.heads % divs == 0)]
    searched = divs[divs <= model.layers] if not system.accelerator.has_off_chip_memory else np.array([1])
    pps = np.array([req.pp]) if req.pp else searched
    tp, pp, batch = (g.ravel() for g in np.meshgrid(tps, pps, BATCHES, indexing="ij"))
    keep = (tp * pp <= req.devices) & (batch >= pp)  # a pipeline needs a sequence per stage in flight
    return ServingPlans(tp=tp[keep], pp=pp[keep], batch=batch[keep])


def estimate_serving(req: ServeRequest, setting: Setting | None = None) -> dict:
    """The best plan (max output tokens/s) with its latency, energy, money and carbon per token;
    InputError when nothing is feasible."""
    system, model, acc = req.system, req.model, req.system.accelerator
    plans = _plans(req)
    up = coll.Tier(system.scale_up, catalog.efficiency().collective_for(system.scale_up.technology))
    weight_bytes = BYTES[req.precision]
    kv = BYTES[req.kv_precision or ("fp8" if req.precision in ("fp8", "fp4", "int4", "int8") else "bf16")]
    memory = acc.hbm_bytes if acc.has_off_chip_memory else acc.sram_bytes
    hardware = ServingHardware(_rates(system, req.precision), up, memory)
    slo = Slo(req.ttft_slo_s, req.tpot_slo_s, req.slo_percentile)
    result = evaluate_serving(model, hardware, req.devices, plans, lengths=(req.input_len, req.output_len),
                              element_bytes=(weight_bytes, kv), slo=slo, kv_reserve=req.kv_reserve)
    score = np.where(result.feasible, result.metrics["output_tokens_per_s"], -np.inf)
    if not len(score) or not np.isfinite(score).any():
        raise InputError("plan", _nothing_feasible(result))
    i = int(np.argmax(score))
    m = {k: float(v[i]) for k, v in result.metrics.items()}
    m.update(serving_footprint(system, req.devices, m["output_tokens_per_s"], setting or default_setting()))
    return {"plan": {"tp": int(plans.tp[i]), "pp": int(plans.pp[i]), "batch_per_replica": int(plans.batch[i]),
                     "replicas": int(m["replicas"])}, "metrics": m,
            "plans_evaluated": int(len(plans.tp)), "feasible": int(result.feasible.sum())}


def _nothing_feasible(result) -> str:
    if not len(result.reason):
        return "a feasible serving plan; none fits these devices (fewer sequences than pipeline stages)"
    counts = {REASONS[r]: int((result.reason == r).sum()) for r in range(1, len(REASONS)) if (result.reason == r).any()}
    return (f"a feasible serving plan; none is ({counts}); the fastest TPOT possible here is "
            f"{result.metrics['tpot_s'].min() * 1e3:.1f} ms and the lowest TTFT {result.metrics['ttft_s'].min():.3g} s")
