"""Time of the arithmetic of one transformer layer on one device (roofline x efficiency tables).

A GEMM takes ``max(FLOPs / (peak x eff_gemm(FLOPs)), bytes / (HBM bandwidth x eff_mem))``
(Williams, Waterman & Patterson 2009, roofline; efficiency by op size as in calculon's
``gflops_efficiency``). Element-wise kernels (norms, activations, dropout, residuals, softmax)
are memory-bound: bytes / (HBM bandwidth x eff_mem).

Element-wise traffic per layer forward, in elements of the activation dtype (Korthikanti et al.
2022 Sec. 4.1 lists the same tensors for activation memory): two LayerNorms read + write b s h
each; two bias-dropout-residual blocks read 2, write 1 and a 1-byte mask; the MLP activation reads
and writes b s f / t (gated: reads 2); softmax reads and writes b (heads/t) s^2 and attention
dropout reads, writes and masks it. Unfused kernels make one pass per operation. The backward pass
moves about twice the forward bytes (incoming gradient + saved input read, gradient written).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flopwatt.catalog.efficiency import CastTraffic, GemmTable
from flopwatt.perf import flops as fl
from flopwatt.specs import ModelSpec, StackProfile


def roofline_time(compute_s: np.ndarray, memory_s: np.ndarray, norm: float | None) -> np.ndarray:
    """A kernel's time from its compute and memory times: ``max(compute, memory)``, or with ``norm`` n the p-norm
    ``(compute^n + memory^n)^(1/n)`` (the smoothed roofline fitted on the TensorRT-LLM table,
    ``DeviceRates.roofline_norm``)."""
    if norm is None:
        return np.maximum(compute_s, memory_s)
    return (compute_s ** norm + memory_s ** norm) ** (1.0 / norm)


@dataclass(frozen=True, slots=True)
class DeviceRates:
    """What one device sustains for this workload's precision."""

    peak_flops_per_s: float
    hbm_bandwidth_bytes_per_s: float
    """Bandwidth memory-bound kernels stream at: HBM, or on-chip SRAM on a device without off-chip memory
    (``Accelerator.streaming_bandwidth_bytes_per_s``). 0 = nothing to stream from: memory time is infinite."""
    gemm_efficiency: GemmTable
    memory_efficiency: float
    act_bytes: float
    """Bytes per activation element (2 for bf16/fp16)."""
    overlap_slowdown: float
    """Fraction of compute throughput lost while a collective runs concurrently."""
    linear_peak_flops_per_s: float | None = None
    """Peak for the linear-layer GEMMs when they run at lower precision (FP8/FP4 training keeps the
    attention core and the output layer in BF16); None = ``peak_flops_per_s``."""
    roofline_norm: float | None = None
    """Exponent n of the smooth roofline ``(compute^n + memory^n)^(1/n)``: a kernel near the ridge point
    overlaps its arithmetic and its memory traffic imperfectly; None = the sharp ``max``."""
    linear_peak_fraction: float = 1.0
    """Sustained low-precision matmul fraction of ``linear_peak_flops_per_s`` over the fraction the
    16-bit table assumes (catalog ``low_precision``): measured FP8 GEMMs on Hopper reach ~0.92 of it."""
    attention_core_scale: float = 1.0
    """Scale on the GEMM-table efficiency of the attention-core GEMMs (Q K^T, attention x V) for the stack's flash
    kernel on this device (catalog ``attention_kernel``): FlashAttention-2 reaches 73 % of an A100's peak but
    37 % of an H100's, where cuBLAS GEMMs reach ~80 % of both; 1 = the kernel runs as the GEMM table says."""
    fp8_cast: CastTraffic | None = None
    """Traffic of finding scales for and casting the FP8 linear layers' operands (catalog ``fp8_cast``); None = the
    linear layers run in 16 bits, or the stack's casts are fused into neighbouring kernels or unmeasured."""

    def exposed(self, comm: np.ndarray, compute: np.ndarray) -> np.ndarray:
        """Time a collective adds when run concurrently with ``compute``.

        Compute slows by ``overlap_slowdown`` while they overlap, so the pair takes
        ``max(comm, compute + slowdown x comm)``; the excess over ``compute`` is returned.
        """
        return np.maximum(comm, compute + self.overlap_slowdown * comm) - compute

    def gemm_time(self, flops: np.ndarray, nbytes: np.ndarray, linear: bool = False,
                  efficiency_scale: float = 1.0) -> np.ndarray:
        """Roofline time of one GEMM call, ``max(compute, memory)``, smoothed to the p-norm
        ``(compute^n + memory^n)^(1/n)`` when ``roofline_norm`` is set. At a faster (low-precision)
        peak the same call finishes sooner, so its efficiency is read at its time-equivalent size
        (FLOPs x peak_bf16 / peak), the low-precision peak taken at its measured sustained fraction
        (``linear_peak_fraction``). ``efficiency_scale`` scales the table's efficiency (a kernel that is not a
        cuBLAS-class GEMM, e.g. the flash attention core: ``attention_core_scale``)."""
        low = linear and self.linear_peak_flops_per_s
        peak = self.linear_peak_flops_per_s * self.linear_peak_fraction if low else self.peak_flops_per_s
        equivalent = flops * self.peak_flops_per_s / peak
        compute = flops / (peak * self.gemm_efficiency(equivalent) * efficiency_scale)
        return roofline_time(compute, self.memory_time(nbytes), self.roofline_norm)

    def memory_time(self, nbytes: np.ndarray) -> np.ndarray:
        """Time to stream ``nbytes``; infinite (never a division by zero) where the bandwidth is 0."""
        bandwidth = self.hbm_bandwidth_bytes_per_s * self.memory_efficiency
        if bandwidth <= 0:
            return np.full(np.shape(nbytes), np.inf)
        return nbytes / bandwidth


@dataclass(frozen=True, slots=True)
class LayerTimes:
    """Per layer, per micro-batch, on one device (s)."""

    forward: np.ndarray
    backward: np.ndarray
    recompute_full: np.ndarray
    recompute_selective: np.ndarray
    elementwise_forward: np.ndarray
    """Part of ``forward`` spent in memory-bound element-wise kernels."""
    weight_gradient: np.ndarray
    """Part of ``backward`` spent in weight-gradient GEMMs (what backward TP communication can hide behind)."""
    hbm_bytes_forward: np.ndarray
    """HBM traffic of the forward pass (GEMM operands and results, element-wise kernels)."""
    hbm_bytes_selective: np.ndarray
    """HBM traffic of the selective-recompute part (attention core and its softmax/dropout)."""
    attention_core: np.ndarray
    """Forward time of the attention core (what context-parallel KV exchange overlaps)."""


def per_row(flag: object, yes: object, no: object) -> object:
    """``yes if flag else no``; where ``flag`` is an array (one stack attribute per row: perf/shape_grid.py stacks
    several stacks' rows in one call), the choice row by row (``np.where``: the same value in each row)."""
    if isinstance(flag, np.ndarray):
        return np.where(flag, yes, no)
    return yes if flag else no


def elementwise_elements(model: ModelSpec, seq: np.ndarray, batch: np.ndarray, tp: np.ndarray,
                         sequence_parallel: np.ndarray, stack: StackProfile, *, moe: bool = False,
                         seq_kv: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Element-wise traffic of one layer forward: (elements outside attention core, softmax+dropout elements)."""
    h, f = model.hidden, model.ffn_hidden
    if moe:  # activations of the shared and routed experts a token visits
        f = (model.moe.topk * model.moe.capacity_factor + model.moe.shared_experts) * model.moe.ffn_hidden
    tokens = batch * seq
    replicated = np.where(sequence_parallel, tokens / tp, tokens)  # norms/dropout run on every TP rank
    gated = model.mlp_matrices == 3
    fused = stack.fused_elementwise
    norm_dropout = per_row(fused, 2 * 2 + 2 * 3.5, 2 * 2 + 2 * 7.5) * h * replicated
    activation = per_row(fused, 3 if gated else 2, 5 if gated else 4) * f * tokens / tp
    softmax = per_row(fused, 2.0 + 2.5, 6.0 + 2.5)
    scores = batch * (model.heads / tp) * seq * (seq if seq_kv is None else seq_kv)
    flash = stack.flash_attention
    attention = np.zeros_like(scores, dtype=float) if _always(flash) else softmax * scores
    if isinstance(flash, np.ndarray):
        attention = np.where(flash, 0.0, attention)
    routing = token_routing_elements(model, tokens / tp) if moe else 0.0
    return norm_dropout + activation + routing, attention


def _always(flag: object) -> bool:
    """Whether a stack attribute (a value, or per row an array) is true in every row."""
    return bool(np.all(flag)) if isinstance(flag, np.ndarray) else bool(flag)


def token_routing_elements(model: ModelSpec, tokens: np.ndarray) -> np.ndarray:
    """Memory-bound traffic of routing ``tokens`` through one MoE layer forward, in activation elements.

    Megatron-Core's all-to-all token dispatcher (megatron/core/transformer/moe/token_dispatcher.py, moe_utils.py
    ``permute`` / ``unpermute`` / ``sort_chunks_by_idxs``): permute the T tokens into T k copies grouped by
    destination rank (read T h, write T k h), regroup the received copies by local expert (read + write T k h),
    regroup the expert outputs back by source rank (read + write T k h) and unpermute: weight each of the k copies
    by its router probability and sum them into the token (read T k h, write T h): 6 T k h + 2 T h, with
    k = top-k x capacity factor copies. The router's T x E logits are read and written by the softmax and top-k
    (2 T E, fp32 = 2 elements each)."""
    spec = model.moe
    k = spec.topk * spec.capacity_factor
    return tokens * (6 * k * model.hidden + 2 * model.hidden + 2 * 2 * spec.experts)


def layer_times(model: ModelSpec, shard: fl.Shard, sequence_parallel: np.ndarray, stack: StackProfile,
                rates: DeviceRates, *, moe: bool = False) -> LayerTimes:
    """Forward, backward and recompute time of one layer for one micro-batch (no communication)."""
    gemms = fl.layer_gemms(model, shard, rates.act_bytes, moe=moe)
    seq, batch, tp, seq_kv = shard.seq, shard.batch, shard.tp, shard.keys
    flash = stack.flash_attention
    if np.any(flash):  # scores stay on chip: only Q, K, V and the output are read/written
        io = rates.act_bytes * batch * (model.heads / tp) * (seq + seq_kv)
        io = io * (model.head_size if model.mla is None else model.mla.qk_nope_head_dim + model.mla.v_head_dim)
        gemms = {**gemms, **{k: (gemms[k][0], per_row(flash, io, gemms[k][1]), gemms[k][2])
                             for k in fl.ATTENTION_CORE}}
    t_gemm = {k: c * _call_time(rates, k, f, b, flash) for k, (f, b, c) in gemms.items()}
    dense = sum(t for k, t in t_gemm.items() if k not in fl.ATTENTION_CORE)
    core = sum(t_gemm[k] for k in fl.ATTENTION_CORE)
    other, attn = elementwise_elements(model, seq, batch, tp, sequence_parallel, stack, moe=moe, seq_kv=seq_kv)
    t_other = rates.memory_time(other * rates.act_bytes)
    t_attn = rates.memory_time(attn * rates.act_bytes)
    cast_f, cast_b, cast_bytes = fp8_cast_times(model, shard, sequence_parallel, rates, moe=moe)
    forward = dense + core + t_other + t_attn + cast_f
    backward = 2 * (dense + core) + 2 * (t_other + t_attn) + cast_b
    core_bytes = sum(gemms[k][1] * gemms[k][2] for k in fl.ATTENTION_CORE) + attn * rates.act_bytes
    hbm_forward = sum(b * c for _, b, c in gemms.values()) + (other + attn) * rates.act_bytes + cast_bytes
    saves = stack.selective_saves
    every_other = np.asarray(saves) == "every-other-matmul" if isinstance(saves, np.ndarray) else \
        saves == "every-other-matmul"
    selective = core + t_attn
    if np.any(every_other):
        selective = per_row(every_other, recomputed_matmul_share(model) * (dense + cast_f) + t_other, selective)
    return LayerTimes(forward=forward, backward=backward, recompute_full=forward,
                      recompute_selective=selective, elementwise_forward=t_other + t_attn,
                      weight_gradient=dense, hbm_bytes_forward=hbm_forward, hbm_bytes_selective=core_bytes,
                      attention_core=core + t_attn)


def fp8_cast_times(model: ModelSpec, shard: fl.Shard, sequence_parallel: np.ndarray, rates: DeviceRates,
                   *, moe: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(forward s, backward s, forward bytes) of scaling and casting the FP8 linear layers' operands of one layer.

    Dynamic tensorwise scaling (torchao ``Float8Linear``; its roofline model, ``get_tensor_memory_traffic_ovhd_s``):
    each operand is read once for its absolute maximum and once more to be cast, written in FP8 row- and
    column-major; the weight is cast again in the backward. Per GEMM with input M x K, weight K x N, output
    gradient M x N: forward bytes ``i M K + w_f K N``, backward ``w_b K N + g M N`` (``CastTraffic``), each pass
    at least its kernels' launch floor. Under sequence parallelism the hidden-stream operand of a tensor-parallel
    GEMM (the input of a column-parallel one, the output gradient of a row-parallel one) is cast on the rank's
    sequence shard, before its all-gather (torchao float8_tensor_parallel.py ``PrepareFloat8ModuleInput``: 'the
    float8 cast happens before the all-gather'): 1/tp of it. A recipe whose norm writes the FP8 input of the
    column-parallel GEMMs (``CastTraffic.norm_fused_input_backward``; TE 1.8 layernorm_linear.py: the FP8 norm output,
    gathered, is transposed by ``tex.fp8_transpose`` for the weight gradient) casts none of those inputs forward and
    transposes the gathered input in the backward. Zero where the linears run in 16 bits or no rule applies.
    """
    rule = rates.fp8_cast
    zero = np.zeros(np.shape(shard.seq))
    if rule is None or rates.linear_peak_flops_per_s is None:
        return zero, zero, zero
    forward, backward, nbytes = zero, zero, zero
    shard_of = np.where(sequence_parallel, 1.0 / np.asarray(shard.tp, dtype=float), 1.0)
    fused = rule.norm_fused_input_backward
    for name, (inputs, weights, outputs, calls) in fl.linear_operands(model, shard, moe=moe).items():
        transposed = 0.0
        if fused is not None and name in fl.COLUMN_PARALLEL:
            inputs, transposed = 0.0 * inputs, fused * inputs  # cast by the norm; the gathered input transposed
        inputs = inputs * shard_of if name in fl.COLUMN_PARALLEL else inputs
        outputs = outputs * shard_of if name in fl.ROW_PARALLEL else outputs
        fwd, bwd, moved = linear_cast_times(rule, rates, inputs, weights, outputs, transposed)
        forward, backward, nbytes = forward + calls * fwd, backward + calls * bwd, nbytes + calls * moved
    return forward, backward, nbytes


def linear_cast_times(rule: CastTraffic, rates: DeviceRates, inputs: np.ndarray, weights: np.ndarray,
                      outputs: np.ndarray, backward_bytes: np.ndarray | float = 0.0,
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(forward s, backward s, forward bytes) of casting one FP8 linear's input, weight and output gradient of
    ``inputs``, ``weights``, ``outputs`` elements (plus ``backward_bytes`` moved in the backward): each pass streams
    its bytes, and takes at least its kernels' launch floor (``CastTraffic``)."""
    fwd = rule.input_forward * inputs + rule.weight_forward * weights
    bwd = rule.weight_backward * weights + rule.grad_output_backward * outputs + backward_bytes
    return (np.maximum(rates.memory_time(fwd), rule.kernels_forward * rule.kernel_floor_s),
            np.maximum(rates.memory_time(bwd), rule.kernels_backward * rule.kernel_floor_s), fwd)


def _call_time(rates: DeviceRates, name: str, flops: np.ndarray, nbytes: np.ndarray, flash: bool) -> np.ndarray:
    """Time of one call of the layer GEMM ``name``: the linear layers at the run's (possibly low) precision, the
    attention core in 16 bits, inside a flash kernel at that kernel's efficiency (``attention_core_scale``)."""
    if name not in fl.ATTENTION_CORE:
        return rates.gemm_time(flops, nbytes, linear=True)
    return rates.gemm_time(flops, nbytes, efficiency_scale=per_row(flash, rates.attention_core_scale, 1.0))


def recomputed_matmul_share(model: ModelSpec) -> float:
    """Share of a layer's linear FLOPs that torchtitan's op-level policy recomputes: the 2nd, 4th, ...
    matmuls in the order q, k, v, o, w1, w3, w2 (gated MLP) or fc1, fc2 (see memory.every_other_matmul_bytes);
    FLOPs of each in proportion to its input x output width. The element-wise kernels are all recomputed."""
    h, a, kv, f = model.hidden, model.attention_width, model.kv_width, model.ffn_hidden
    mlp = [h * f, h * f, f * h] if model.mlp_matrices == 3 else [h * f, f * h]
    flops = [h * a, h * kv, h * kv, a * h, *mlp]
    return sum(flops[1::2]) / sum(flops)


def logits_times(model: ModelSpec, seq: np.ndarray, batch: np.ndarray, tp: np.ndarray,
                 rates: DeviceRates) -> tuple[np.ndarray, np.ndarray]:
    """Forward and backward time of the output layer and the fp32 cross-entropy on the last stage."""
    flops, nbytes = fl.logits_gemm(model, seq, batch, tp, rates.act_bytes)
    gemm = rates.gemm_time(flops, nbytes)
    loss_bytes = 4.0 * 3 * batch * seq * model.vocab / tp  # fp32 softmax: read logits, write probs, read back
    loss = rates.memory_time(loss_bytes)
    return gemm + loss, 2 * gemm + loss
