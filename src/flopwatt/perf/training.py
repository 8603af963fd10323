"""Training step time, memory and utilisation for N plans at once: ``evaluate_training``.

Step time of 1F1B pipelining (Narayanan et al. 2021 Sec. 2.2; interleaved: bubble / v):

    step = m * t_mb + (pp - 1) / v * t_mb + exposed DP communication + optimizer update

where m = global batch / (dp x micro-batch) micro-batches, and t_mb is the slowest stage's time for
one micro-batch: its layers' forward + backward (+ recompute) compute, their tensor-parallel
collectives, the output layer on the last stage, and pipeline sends.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from flopwatt import catalog
from flopwatt.catalog.efficiency import EfficiencyCatalog
from flopwatt.catalog.ici import Torus, torus_for
from flopwatt.fabric.network import Fabric
from flopwatt.perf import collectives as coll
from flopwatt.perf import (
    data_parallel,
    experts,
    feasibility,
    ici_layout,
    memory,
    model_parallel,
    overlap,
    training_metrics,
)
from flopwatt.perf import flops as fl
from flopwatt.perf.compute import DeviceRates, LayerTimes, layer_times, logits_times
from flopwatt.perf.context_parallel import cp_layer_time
from flopwatt.perf.plans import Plans
from flopwatt.specs import ModelSpec, StackProfile, System, TrainingWorkload

ACT_BYTES = {"fp32": 4.0, "tf32": 4.0, "fp16": 2.0, "bf16": 2.0, "fp8": 2.0, "fp4": 2.0}
"""Bytes per activation element moved between kernels and devices (fp8/fp4 GEMMs keep bf16 activations)."""
OPTIMIZER_TRAFFIC_BYTES = 2 + 2 + 12 + 2 + 12
LOW_PRECISION = ("fp8", "fp4")
"""Adam update per parameter: read weight, gradient and fp32 states, write weight and states."""


@dataclass(frozen=True, slots=True)
class TrainingResult:
    """Arrays of length N, one entry per plan. ``time``/``memory`` hold breakdowns keyed by path."""

    plans: Plans
    reason: np.ndarray
    time: dict[str, np.ndarray]
    memory: dict[str, np.ndarray]
    metrics: dict[str, np.ndarray]
    traffic: dict[str, np.ndarray]
    """Bytes each device moves per step, by tier (HBM, scale-up, scale-out)."""

    @property
    def feasible(self) -> np.ndarray:
        return self.reason == feasibility.OK

    def __len__(self) -> int:
        return len(self.plans)

    def take(self, index: np.ndarray) -> TrainingResult:
        """The results of the plans at ``index``."""
        def pick(d: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            return {k: v[index] for k, v in d.items()}
        return TrainingResult(plans=self.plans.take(index), reason=self.reason[index], time=pick(self.time),
                              memory=pick(self.memory), metrics=pick(self.metrics), traffic=pick(self.traffic))


@dataclass(frozen=True, slots=True)
class _Context:
    model: ModelSpec
    seq: int
    system: System
    stack: StackProfile
    rates: DeviceRates
    up: coll.Tier
    out: coll.Tier
    fabric: Fabric | None = None
    torus: Torus | None = None
    """The scale-up ICI torus (ici.toml), None on switched scale-up; with it TP and DP follow perf/ici_layout."""
    slice_chips: int = 1
    grad_reduce_bytes: float = memory.GRAD_BYTES
    """Bytes per gradient in data-parallel reductions (4 where the stack reduces bf16 gradients in fp32)."""

    def out_for(self, group_nodes: np.ndarray) -> coll.Tier:
        """The scale-out tier as a group spanning ``group_nodes`` nodes sees it on the fabric."""
        if self.fabric is None:
            return self.out
        share, hops = self.fabric.group_factor(group_nodes)
        return dataclasses.replace(self.out, share=share, extra_latency_s=hops * self.fabric.switch_latency_s)


def _context(workload: TrainingWorkload, system: System, stack: StackProfile,
             eff: EfficiencyCatalog, fabric: Fabric | None, devices: int = 1) -> _Context:
    acc = system.accelerator
    low = workload.precision in LOW_PRECISION  # FP8/FP4 GEMMs; attention core and logits stay 16-bit
    rates = DeviceRates(
        peak_flops_per_s=acc.peak(acc.half_precision() if low else workload.precision),
        linear_peak_flops_per_s=acc.peak(workload.precision) if low else None,
        linear_peak_fraction=eff.low_precision_for(acc.id, workload.precision) if low else 1.0,
        hbm_bandwidth_bytes_per_s=acc.streaming_bandwidth_bytes_per_s,  # SRAM on SRAM-only devices
        gemm_efficiency=eff.gemm_for(acc.id),
        memory_efficiency=eff.memory_for(acc.id),
        act_bytes=ACT_BYTES[workload.precision],
        overlap_slowdown=eff.overlap_for(acc.id),
        roofline_norm=eff.roofline_norm,
        attention_core_scale=eff.attention_core_scale(stack.attention_kernel, acc.id),
        fp8_cast=eff.fp8_cast_for(stack.fp8_cast) if low else None,
    )
    up = coll.Tier(system.scale_up, eff.collective_for(system.scale_up.technology))
    out = coll.Tier(system.scale_out, eff.collective_for(system.scale_out.technology))
    torus = torus_for(system.scale_up.technology)
    chips = ici_layout.slice_chips(torus, devices, system.scale_up_domain_devices) if torus else 1
    fp32_grads = stack.bf16_grad_reduce_fp32 and workload.precision == "bf16"
    return _Context(workload.model, workload.seq_len, system, stack, rates, up, out, fabric, torus, chips,
                    grad_reduce_bytes=4.0 if fp32_grads else memory.GRAD_BYTES)


def _stage_layers(ctx: _Context, plans: Plans, t_layer: np.ndarray,
                  t_logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Layers on the slowest stage and whether it also runs the output layer (see StackProfile)."""
    layers = ctx.model.layers
    with_logits = np.ones(len(plans), dtype=bool)
    if ctx.stack.pipeline_partition == "uniform":
        return layers / plans.pp, with_logits
    if ctx.stack.pipeline_partition == "parameters":
        return np.ceil(layers / plans.pp), with_logits
    if ctx.stack.pipeline_partition == "first-last":  # Megatron-Core uneven split (perf/partition.py)
        split = memory.first_last_split_of(layers, plans.pp, plans.vpp)
        front = np.maximum(split["first"], np.where(plans.pp > 2, split["middle"], 0))
        logits_bound = split["last"] * t_layer + t_logits > front * t_layer
        return np.where(logits_bound, split["last"], front), (plans.pp == 1) | logits_bound
    units = np.ceil((layers + 2) / plans.pp)  # transformer-embedding: L + 2 units balanced
    logits_bound = (units - 1) * t_layer + t_logits > units * t_layer
    busiest = np.where(plans.pp == 1, layers, np.where(logits_bound, units - 1, units))
    return busiest, (plans.pp == 1) | logits_bound


def _held_layers(ctx: _Context, plans: Plans, busiest: np.ndarray) -> np.ndarray:
    """Layers whose weights and in-flight activations set the peak memory: the first stage's (it keeps
    pp micro-batches) or a middle stage's for the ``first-last`` split; else the slowest stage's."""
    if ctx.stack.pipeline_partition != "first-last":
        return busiest
    split = memory.first_last_split_of(ctx.model.layers, plans.pp, plans.vpp)
    return np.maximum(split["first"], np.where(plans.pp > 2, split["middle"], 0)).astype(float)


def _layer_mix(ctx: _Context, plans: Plans, seq: np.ndarray, seq_kv: np.ndarray | None) -> tuple[LayerTimes, dict]:
    """Times of an average layer (dense and MoE layers weighted by their counts) and its EP/CP traffic."""
    shard = fl.Shard(seq=seq, batch=plans.micro_batch, tp=plans.tp, ep=plans.ep, seq_kv=seq_kv)
    args = (ctx.model, shard, plans.sequence_parallel, ctx.stack, ctx.rates)
    dense = layer_times(*args)
    cp_time, cp_bytes = cp_layer_time(ctx, plans, seq, dense.attention_core, 2 * dense.attention_core)
    extra = {"comm/cp": cp_time, "_cp_bytes": cp_bytes, "comm/ep": np.zeros(len(plans)), "_ep_bytes": 0.0}
    if ctx.model.moe is None:
        return dense, extra
    moe = layer_times(*args, moe=True)
    w = ctx.model.moe_layers / ctx.model.layers
    ep_time, ep_bytes = experts.ep_layer_time(ctx, plans, seq, moe.forward + moe.backward)
    moe = experts.host_issue_floor(ctx, plans, moe, ep_time)
    extra.update({"comm/ep": w * ep_time, "_ep_bytes": w * ep_bytes})
    mixed = LayerTimes(**{f.name: (1 - w) * getattr(dense, f.name) + w * getattr(moe, f.name)
                          for f in dataclasses.fields(LayerTimes)})
    return mixed, extra


def _micro_batch_parts(ctx: _Context, plans: Plans) -> dict[str, np.ndarray]:
    """Per-micro-batch time of the slowest stage, by part (s)."""
    seq = np.full(len(plans), ctx.seq / plans.cp)
    seq_kv = np.where(plans.cp > 1, float(ctx.seq), seq)
    b, tp = plans.micro_batch, plans.tp
    lt, extra = _layer_mix(ctx, plans, seq, seq_kv)
    log_f, log_b = logits_times(ctx.model, seq, b, tp, ctx.rates)
    w_full, w_sel = plans.recompute_weights(ctx.stack.selective_recompute)
    rec = w_full * lt.recompute_full + w_sel * lt.recompute_selective
    msg = ctx.rates.act_bytes * b * seq * ctx.model.hidden
    t_coll = overlap.tp_collectives_per_pass(ctx.stack) * model_parallel.tp_tier_time(ctx, plans, msg)
    tp_backward = 2 * t_coll
    if ctx.stack.tp_overlap:
        tp_backward = ctx.rates.exposed(tp_backward, lt.weight_gradient)
    tp_forward = overlap.tp_forward(ctx.stack, ctx.rates, ctx.model, 2 * t_coll, lt.weight_gradient)
    if ctx.stack.tp_collective_matmul and ctx.torus is not None:  # XLA windowed einsum on TPU (model_parallel)
        tp_forward, tp_backward = model_parallel.collective_matmul_exposed(
            ctx.stack, ctx.rates, ctx.model, plans, 2 * t_coll, lt.weight_gradient)
    tp_layer = (1 + w_full) * tp_forward + tp_backward  # fwd, recomputed fwd, bwd
    t_layer = lt.forward + lt.backward + rec + tp_layer + extra["comm/ep"] + extra["comm/cp"]
    layers, with_logits = _stage_layers(ctx, plans, t_layer, log_f + log_b)
    rec_bytes = w_full * lt.hbm_bytes_forward + w_sel * lt.hbm_bytes_selective
    collectives = (4 + 2 * w_full) * overlap.tp_collectives_per_pass(ctx.stack)
    compute = layers * (lt.forward + lt.backward) + with_logits * (log_f + log_b)
    return {
        "_hbm_bytes": layers * (3 * lt.hbm_bytes_forward + rec_bytes),
        "_tp_bytes": layers * collectives * 2 * (tp - 1) / tp * msg,
        "_ep_bytes": layers * extra["_ep_bytes"],
        "_cp_bytes": layers * extra["_cp_bytes"],
        "compute": compute,
        "recompute": layers * rec,
        "comm/tp": layers * tp_layer,
        "comm/ep": layers * extra["comm/ep"],
        "comm/cp": layers * extra["comm/cp"],
        "comm/pp": overlap.pp_exposed(ctx.stack, ctx.rates, model_parallel.p2p_time(ctx, plans, msg), compute),
        "_layers": layers,
        "_held_layers": _held_layers(ctx, plans, layers),
        "_backward_stage": layers * (lt.backward + rec),
        "_forward_stage": layers * lt.forward,
    }


def _params_per_device(ctx: _Context, plans: Plans, layers: np.ndarray) -> np.ndarray:
    """Parameters held by the largest stage's device (layers + embedding shard), before ZeRO sharding.

    Routed experts are sharded over the EP ranks, everything else over the TP ranks.
    """
    model = ctx.model
    embedding = model.embedding_params(ctx.seq) - 2 * model.hidden
    routed = model.moe_layers * model.routed_expert_params() / model.layers
    return layers * ((model.layer_params() - routed) / plans.tp + routed / plans.ep) + embedding / plans.tp


def _memory(ctx: _Context, plans: Plans, params: np.ndarray, layers: np.ndarray) -> dict[str, np.ndarray]:
    seq = np.full(len(plans), ctx.seq / plans.cp)
    model = ctx.model
    experts = layers * model.moe_layers * model.routed_expert_params() / model.layers / plans.ep  # of params
    states = memory.state_bytes(params, plans, fp8_copy=ctx.rates.linear_peak_flops_per_s is not None,
                                copies=2 if ctx.stack.pipeline_schedule == "dualpipe" else 1, expert_params=experts,
                                shard_group=None if ctx.torus is None
                                else ici_layout.fsdp_size(plans, ctx.slice_chips) * plans.cp)
    if ctx.stack.fp32_sharded_params:
        states = memory.fsdp2_state_bytes(params, plans)
    loss = memory.loss_bytes(ctx.model, seq, plans, ctx.stack.fused_cross_entropy)
    acts = memory.stage_activation_bytes(ctx.model, seq, plans, ctx.stack, layers, loss_bytes=loss)
    parts = {f"memory/{k}": v for k, v in states.items()}
    parts["memory/activations"] = acts
    parts["memory/workspace"] = np.where(plans.zero_stage >= 3, _gathered_bytes(ctx, plans), 0.0)
    parts["memory/runtime"] = _runtime_bytes(plans, sum(parts.values()), ctx.stack)
    parts["memory/total"] = sum(parts.values())
    return parts


def _gathered_bytes(ctx: _Context, plans: Plans) -> np.ndarray:
    """ZeRO-3 working set: unsharded copies while a unit computes and the next one is prefetched.

    ``module`` (DeepSpeed, FSDP1 per linear): the widest weight (MLP up-projection or QKV), twice, 16-bit.
    ``layer`` (FSDP2 per transformer block, torchtitan docs/fsdp.md): two layers' 16-bit weights and one
    layer's fp32 gradients before the reduce-scatter (MixedPrecisionPolicy reduce_dtype fp32).
    """
    model = ctx.model
    if ctx.stack.zero3_gather_unit == "layer":
        per_layer = model.layer_params() / plans.tp
        return per_layer * (2 * memory.WEIGHT_BYTES + 4.0)
    widest = max((model.mlp_matrices - 1) * model.ffn_hidden, model.attention_width + 2 * model.kv_width)
    return 2 * model.hidden * widest / plans.tp * memory.WEIGHT_BYTES


def _runtime_bytes(plans: Plans, tensors: np.ndarray, stack: StackProfile) -> np.ndarray:
    """CUDA context + one communicator per parallel group in use + allocator fragmentation (runtime.toml);
    none on a stack without that runtime (StackProfile.cuda_runtime_reserve: XLA's compile-time buffers)."""
    if not stack.cuda_runtime_reserve:
        return np.zeros_like(tensors)
    rt = catalog.runtime_memory()
    groups = sum((getattr(plans, k) > 1).astype(float) for k in ("tp", "pp", "dp", "cp", "ep"))
    comms = np.where(groups > 0, rt["first_communicator_bytes"] + (groups - 1) * rt["communicator_bytes"], 0.0)
    return rt["context_bytes"] + comms + rt["fragmentation"] * tensors


def search_context(workload: TrainingWorkload, system: System, stack: StackProfile, devices: int,
                   efficiency: EfficiencyCatalog | None = None) -> _Context:
    """The rates and tiers :func:`evaluate_training` uses (no fabric), for the pruned search (perf/bounds.py)."""
    return _context(workload, system, stack, efficiency or catalog.efficiency(), None, devices)


def memory_total_bytes(ctx: _Context, plans: Plans, held_layers: np.ndarray) -> np.ndarray:
    """``memory/total`` of :func:`evaluate_training` for plans whose memory-setting stage holds ``held_layers``
    layers: the same arithmetic, without the time model (what perf/bounds.py needs to count OOM exactly)."""
    safe = _sanitised(plans)
    params = _params_per_device(ctx, safe, held_layers)
    return _memory(ctx, safe, params, held_layers)["memory/total"]


def evaluate_training(workload: TrainingWorkload, system: System, plans: Plans, stack: StackProfile,
                      devices: int, efficiency: EfficiencyCatalog | None = None,
                      fabric: Fabric | None = None, structural: np.ndarray | None = None) -> TrainingResult:
    """Step time with its breakdown, memory per device, MFU/HFU for every plan (vectorised, no I/O).

    Infeasible plans are not dropped: ``reason`` says why (see :mod:`flopwatt.perf.feasibility`);
    their numbers are computed but meaningless. Without a ``fabric`` the scale-out network is an
    ideal non-blocking one; with one, groups that climb above a leaf share its oversubscribed uplinks.
    ``structural``: ``feasibility.structural_reasons`` of these plans, where the caller has them (a search that
    counted them over its whole space).
    """
    eff = efficiency or catalog.efficiency()
    ctx = _context(workload, system, stack, eff, fabric, devices)
    safe = _sanitised(plans)
    mb = _micro_batch_parts(ctx, safe)
    m = safe.micro_batches.astype(float)
    t_mb = mb["compute"] + mb["recompute"] + mb["comm/tp"] + mb["comm/ep"] + mb["comm/cp"] + mb["comm/pp"]
    params = _params_per_device(ctx, safe, mb["_held_layers"])
    shard = np.where(safe.zero_stage >= 1, safe.dp, 1)
    time = {
        "time/compute": m * mb["compute"],
        "time/recompute": m * mb["recompute"],
        "time/comm/tp": m * mb["comm/tp"],
        "time/comm/ep": m * mb["comm/ep"],
        "time/comm/cp": m * mb["comm/cp"],
        "time/comm/pp": m * mb["comm/pp"],
        "time/bubble": _bubble_stages(ctx, safe) * t_mb,
        "time/comm/dp": data_parallel.dp_times(ctx, safe, params, mb),
        "time/optimizer": ctx.rates.memory_time(params / shard * OPTIMIZER_TRAFFIC_BYTES),
    }
    if eff.straggler is not None:  # the step waits for its slowest host (catalog efficiency [straggler])
        hosts = np.ceil(devices / system.devices_per_node)
        time["time/straggler"] = eff.straggler.penalty(np.full(len(plans), hosts)) * sum(time.values())
    if stack.rank_jitter_mean_s is not None:  # the step waits for its slowest replica (perf/data_parallel.py)
        time["time/jitter"] = data_parallel.rank_jitter_time(stack.rank_jitter_mean_s, safe)
    time["time/step"] = sum(time.values())
    mem = _memory(ctx, safe, params, mb["_held_layers"])
    reason = structural if structural is not None else feasibility.structural_reasons(ctx.model, plans, stack,
                                                                                      devices, workload.seq_len)
    reason = feasibility.with_memory(reason, mem["memory/total"], system.accelerator.hbm_bytes)
    metrics = training_metrics.metrics(ctx, workload, safe, time["time/step"], devices)
    traffic = _traffic(ctx, safe, mb, params, shard)
    return TrainingResult(plans=plans, reason=reason, time=time, memory=mem, metrics=metrics, traffic=traffic)


def _traffic(ctx: _Context, plans: Plans, mb: dict[str, np.ndarray], params: np.ndarray,
             shard: np.ndarray) -> dict[str, np.ndarray]:
    """Bytes one device moves per step on each tier (ring collectives: 2(p-1)/p of the buffer for AllReduce)."""
    m = np.maximum(plans.micro_batches, 1).astype(float)
    domain = ctx.system.scale_up_domain_devices
    tp_inside = plans.tp <= domain
    g = np.clip(domain // plans.tp, 1, plans.dp).astype(float)
    domains = np.maximum(plans.dp / g, 1.0)
    w_full = plans.recompute_weights(ctx.stack.selective_recompute)[0]
    passes = np.where(plans.zero_stage >= 3, m * (3 + w_full), 2.0)  # AG/RS passes, AR = 2
    scattered, gathered = data_parallel.sync_bytes(ctx, plans, params)  # RS + AG (AllReduce: both of the grads)
    synced = np.where(plans.zero_stage >= 3, passes * scattered, scattered + gathered)
    dp_up = (g - 1) / g * synced
    dp_out = (domains - 1) / domains * synced / g
    if ctx.torus is not None:  # XLA's layout: FSDP over ICI, one gradient AllReduce across slices
        dp_up, dp_out = ici_layout.dp_traffic(ctx, plans, params, passes)
    activation = ctx.rates.act_bytes * plans.micro_batch * ctx.seq / plans.cp * ctx.model.hidden
    split = np.where(ctx.stack.scatter_gather_p2p | plans.sequence_parallel, plans.tp, 1)
    pp_out = np.where(plans.pp > 1, m * 2 * plans.vpp * activation / split, 0.0)  # activation + gradient
    cp_inside = plans.tp * plans.cp <= domain
    cp_bytes = m * mb["_cp_bytes"]
    off_chip = 1.0 if ctx.system.accelerator.has_off_chip_memory else 0.0  # SRAM-only: the bytes stay on chip
    return {
        "traffic/hbm_bytes": off_chip * (m * mb["_hbm_bytes"] + params / shard * OPTIMIZER_TRAFFIC_BYTES),
        "traffic/scale_up_bytes": np.where(tp_inside, m * mb["_tp_bytes"], 0.0) + dp_up
        + np.where(cp_inside, cp_bytes, 0.0),
        "traffic/scale_out_bytes": np.where(tp_inside, 0.0, m * mb["_tp_bytes"]) + dp_out + pp_out
        + m * mb["_ep_bytes"] + np.where(cp_inside, 0.0, cp_bytes),
    }


def _bubble_stages(ctx: _Context, plans: Plans) -> np.ndarray:
    """Pipeline fill and drain in micro-batch times: (pp - 1) / v for 1F1B (Narayanan et al. 2021),
    (pp / 2 - 1) for DualPipe (DeepSeek-V3 Table 2)."""
    if ctx.stack.pipeline_schedule == "dualpipe":
        return np.maximum(plans.pp / 2 - 1, 0)
    return (plans.pp - 1) / plans.vpp


def _sanitised(plans: Plans) -> Plans:
    """Plans with degenerate values clamped so that infeasible rows compute without warnings."""
    fields = {f: _at_least_one(getattr(plans, f)) for f in ("tp", "pp", "dp", "cp", "ep", "vpp", "micro_batch")}
    per_replica = fields["dp"] * fields["micro_batch"]
    split = plans.micro_batches > 0
    if split.all():  # every batch splits: it stays (the rounding below would not be read)
        gb = plans.global_batch
    else:
        rounded = np.maximum(plans.global_batch - plans.global_batch % per_replica, per_replica)
        gb = np.where(split, plans.global_batch, rounded)
    return Plans(**fields, global_batch=gb, zero_stage=plans.zero_stage, recompute=plans.recompute,
                 recompute_layers=plans.recompute_layers,
                 sequence_parallel=plans.sequence_parallel)


def _at_least_one(values: np.ndarray) -> np.ndarray:
    """``np.maximum(values, 1)``; the array itself where no value is below 1 (the same values, no copy)."""
    return values if len(values) and values.min() >= 1 else np.maximum(values, 1)
