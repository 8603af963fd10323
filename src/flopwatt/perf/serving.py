"""LLM serving under continuous batching, vectorised over plans (tp x pp replicas x batch).

One replica holds the weights once (tp x pp devices) and serves ``batch`` sequences at a time.
Each iteration generates one token for every sequence (decode) and, in the steady state of
continuous batching with chunked prefill (Orca, Yu et al. OSDI'22; Sarathi-Serve, Agrawal et al.
OSDI'24), prefills ``batch x input_len / output_len`` prompt tokens for the sequences that replace
finished ones. Roofline per phase:

    decode   linear: FLOPs 2 x active params x batch, bytes: weights; + attention kernel over the mean
             context, bytes: the batch's KV cache (memory-bound; a separate kernel, so the times add)
    prefill  linear: FLOPs 2 x active params per token; + attention over the prompt (compute-bound)

    iteration = decode(batch) + prefill(batch x in / out) + TP all-reduces (2 per layer per phase)
    output tokens/s = replicas x batch / iteration;  TPOT = iteration;  TTFT = prefill(in) + iteration

KV cache per token: 2 x layers x kv_heads x head_dim x bytes (MHA/GQA); MLA caches the latent and the
shared RoPE key, (kv_lora_rank + rope_dim) x layers x bytes (DeepSeek-V2 Sec. 2.1.2). Memory per
device: weights / (tp pp) + batch x (in + out) x KV / (tp pp) within the usable HBM.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flopwatt.perf import collectives as coll
from flopwatt.perf import flops as fl
from flopwatt.perf.compute import DeviceRates
from flopwatt.specs import ModelSpec

BYTES = {"fp32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "fp4": 0.5, "int4": 0.5}
USABLE_HBM = 0.9
"""Share of HBM a serving engine may fill (vLLM's default gpu_memory_utilization = 0.9)."""


def kv_bytes_per_token(model: ModelSpec, kv_bytes: float) -> float:
    """KV-cache bytes one token occupies across all layers."""
    if model.mla is not None:
        return (model.mla.kv_lora_rank + model.mla.qk_rope_head_dim) * model.layers * kv_bytes
    return 2.0 * model.layers * model.kv_heads * model.head_size * kv_bytes


@dataclass(frozen=True, slots=True)
class ServingPlans:
    tp: np.ndarray
    pp: np.ndarray
    batch: np.ndarray
    """Concurrent sequences per replica."""


@dataclass(frozen=True, slots=True)
class ServingResult:
    plans: ServingPlans
    feasible: np.ndarray
    reason: np.ndarray
    metrics: dict[str, np.ndarray]


def _linear_flops_per_token(model: ModelSpec) -> float:
    """2 x the weights one token multiplies (active experts only), attention core excluded."""
    one = np.ones(1)
    shard = fl.Shard(seq=one, batch=one, tp=one)
    total = model.dense_layers * (fl.total_flops(fl.layer_gemms(model, shard, 2.0))
                                  - fl.total_flops(fl.layer_gemms(model, shard, 2.0), fl.ATTENTION_CORE))
    if model.moe is not None:
        moe = fl.layer_gemms(model, shard, 2.0, moe=True, capacity=False)
        total = total + model.moe_layers * (fl.total_flops(moe) - fl.total_flops(moe, fl.ATTENTION_CORE))
    logits, _ = fl.logits_gemm(model, one, one, one, 2.0)
    return float(total[0] + logits[0])


def _attention_flops(model: ModelSpec, tokens: np.ndarray, context: np.ndarray) -> np.ndarray:
    """Q K^T and attention x V FLOPs of ``tokens`` queries over ``context`` keys, all layers."""
    if model.mla is None:
        width = 2 * model.attention_width
    else:
        width = model.heads * (model.mla.qk_nope_head_dim + model.mla.qk_rope_head_dim + model.mla.v_head_dim)
    return 2.0 * tokens * context * width * model.layers


REASONS = ("ok", "devices", "oom", "slo")


def evaluate_serving(model: ModelSpec, hardware: tuple[DeviceRates, coll.Tier, float], devices: int,
                     plans: ServingPlans, *, lengths: tuple[float, float], element_bytes: tuple[float, float],
                     slo: tuple[float | None, float | None] = (None, None)) -> ServingResult:
    """Throughput, TTFT, TPOT and memory of every plan; infeasible where memory, devices or SLOs fail.

    ``hardware`` = (device rates, scale-up tier, HBM bytes); ``element_bytes`` = (weight, KV) bytes.
    """
    rates, up, hbm_bytes = hardware
    weight_bytes, kv_bytes = element_bytes
    tp, pp, b = (np.asarray(x, dtype=float) for x in (plans.tp, plans.pp, plans.batch))
    inp, out = lengths
    n = tp * pp
    replicas = np.floor(devices / n)
    weights = model.total_params() * weight_bytes / n
    kv = kv_bytes_per_token(model, kv_bytes)
    kv_dev = kv / (np.minimum(tp, model.kv_heads if model.mla is None else tp) * pp)
    memory = weights + b * (inp + out) * kv_dev
    linear = _linear_flops_per_token(model)
    context = inp + out / 2
    prefill_tokens = b * inp / out
    # Linear layers and attention are separate kernels, so their times add: the linear GEMMs stream the
    # weights, decode attention (FlashDecoding/paged attention) streams every sequence's KV cache.
    t_dec = (rates.gemm_time(linear * b / n, weights, linear=True)
             + rates.gemm_time(_attention_flops(model, b, context) / n, b * context * kv_dev))
    t_pre = (rates.gemm_time(linear * prefill_tokens / n, weights, linear=True)
             + rates.gemm_time(_attention_flops(model, prefill_tokens, inp / 2) / n, prefill_tokens * inp * kv_dev))
    msg = 2.0 * model.hidden * (b + prefill_tokens)
    t_tp = 2 * model.layers / pp * coll.all_reduce(tp, msg, up)
    iteration = t_dec + t_pre + t_tp  # plans here keep pp = 1: pipelined serving is not modelled yet
    one_prompt = rates.gemm_time((linear * inp + _attention_flops(model, inp, inp / 2)) / n, weights, linear=True)
    ttft = one_prompt + iteration
    throughput = replicas * b / iteration
    ttft_slo, tpot_slo = slo
    meets = np.ones_like(ttft, dtype=bool)
    if ttft_slo is not None:
        meets &= ttft <= ttft_slo
    if tpot_slo is not None:
        meets &= iteration <= tpot_slo
    reason = np.select([replicas < 1, memory > USABLE_HBM * hbm_bytes, ~meets], [1, 2, 3], 0).astype(np.int8)
    metrics = {"output_tokens_per_s": throughput, "tokens_per_s_per_device": throughput / (replicas * n),
               "tpot_s": iteration, "ttft_s": ttft, "memory_bytes": memory, "replicas": replicas,
               "concurrent_streams": replicas * b, "decode_s": t_dec, "prefill_s": t_pre, "tp_comm_s": t_tp}
    return ServingResult(plans=plans, feasible=reason == 0, reason=reason, metrics=metrics)
