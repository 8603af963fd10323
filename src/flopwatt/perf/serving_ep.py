"""Expert parallelism for MoE serving: a replica spans ``tp x ep`` devices per pipeline stage.

Decomposition (vocabulary used by :mod:`flopwatt.perf.serving`):

- **attention group**: ``tp`` devices inside one scale-up domain running attention, dense layers, norms
  and logits tensor-parallel (Megatron, Shoeybi et al. 2019). A replica has ``ep`` of them, data
  parallel: each serves ``batch / ep`` of the replica's sequences and keeps their KV cache, and holds
  its own copy of the attention and dense weights (TensorRT-LLM "attention DP": GEMM weights
  replicated, KV cache partitioned by request, nvidia.github.io/TensorRT-LLM features/parallel-strategy;
  DeepSeek-V3 technical report, arXiv:2412.19437, Sec. 3.4.2: decoding runs attention TP4 with DP80
  and the MoE part EP320).
- **expert group**: all ``tp x ep`` devices of a stage; the routed experts are spread evenly over them
  (E / (tp ep) experts each, or a 1 / (tp ep / E) slice of one expert when tp ep > E, as TensorRT-LLM's
  moe_tp x moe_ep split does). Every token of every attention group reaches the expert group, so an
  iteration of ``m`` routed tokens touches ``E (1 - (1 - k/E)^m)`` experts (each token picks k of E).

Per device per iteration, weights streamed = attention and dense weights / tp + touched expert weights
/ (tp ep); held = non-expert weights / (tp pp) + expert weights / (tp ep pp). ``ep`` divides the
number of experts (each attention group's share of experts is whole, as TensorRT-LLM requires
num_experts % moe_ep_size == 0), or the experts plus ``R`` redundant copies of busy ones (EPLB;
SGLang's EP72 for 256 experts with --ep-num-redundant-experts 32: 288 = 72 x 4 slots), each group then
holding (E + R) / ep experts. The step waits for the busiest expert rank and the busiest attention group
(:mod:`flopwatt.perf.serving_balance`: the sampling spread of routed rows and of the groups' KV contexts).

Per MoE layer a token's hidden state goes to its k experts (dispatch) and the k results come back
(combine): two All-to-Alls of ``tokens / tp x k x hidden`` elements per device (each rank of an attention
group sends its 1/tp of the group's tokens). Combine carries 16-bit results; dispatch carries the expert
GEMMs' input, so when those run at a low-precision peak (FP8/FP4) it moves FP8 with one FP32 scale per
128 elements, 1 + 4/128 bytes an element (DeepSeek-V3 Sec. 3.3.2: activations quantised to FP8 in 1 x 128
tiles before dispatch, combine in BF16; DeepEP's low-latency kernels: FP8 dispatch, BF16 combine; FP4 is
still dispatched as FP8, no NVFP4 dispatch being modelled). The share for experts on the
same device stays there, the share for the rest of the scale-up domain moves over NVLink and the
rest leaves on each device's own NIC, concurrently (the bandwidth terms of
:func:`flopwatt.perf.collectives.all_to_all_hierarchical`, replica devices placed consecutively). All
peers' messages are issued at once (DeepEP's low-latency kernels, NCCL grouped send/recv), so the
latency is one step, not the p - 1 steps of a pairwise exchange: DeepEP's README measures EP64 to
EP256 dispatch of 128 tokens on H800 + CX7 400 Gb/s at 173-194 us, flat in p and bandwidth-bound
(43-39 GB/s), where p - 1 steps of 10 us alone would be 0.63-2.6 ms. That one step is at least the
kernels' fixed cost per call, what DeepEP's table leaves once its bytes are sent at the links' maximum rates
(about 42 us a dispatch, 55 us a combine: :func:`flopwatt.perf.serving_kernels.deepep_fixed_latency_s`), which
bounds an EP layer at small token counts. Unless a plan overlaps them
(two micro-batches, :mod:`flopwatt.perf.serving`), the All-to-Alls are exposed; node-limited routing
is not modelled for serving.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from flopwatt.perf import collectives as coll
from flopwatt.perf import serving_kernels as kernels
from flopwatt.perf.serving_step import ACT_BYTES
from flopwatt.specs import ModelSpec


def expert_share(model: ModelSpec) -> float:
    """Share of all parameters that are routed experts (what expert parallelism spreads further)."""
    if model.moe is None:
        return 0.0
    return model.moe_layers * model.routed_expert_params() / model.total_params()


def weights_per_device(model: ModelSpec, weight_bytes: float, tp: np.ndarray, ep: np.ndarray,
                       pp: np.ndarray, redundant: int = 0) -> np.ndarray:
    """Weight bytes one device holds: non-expert / (tp pp) + expert / (tp ep pp), written as
    total / (tp pp) x (1 - s (1 - f)) with s the expert share and f = (1 + R/E) / ep the share of the experts
    an attention group holds with ``redundant`` = R redundant copies (module docstring), so that ep = 1
    without redundancy is exactly total / (tp pp)."""
    experts = model.moe.experts if model.moe is not None else 1
    share = (1.0 + redundant / experts) / np.asarray(ep, dtype=float)
    return model.total_params() * weight_bytes / (tp * pp) * (1.0 - expert_share(model) * (1.0 - share))


FP8_DISPATCH_BYTES = 1.0 + 4.0 / 128
"""Bytes per dispatched element when the experts' GEMM input is quantised: FP8 plus one FP32 scale per
128 elements (DeepSeek-V3 Sec. 3.3.2, 1 x 128 activation tiles)."""


def dispatch_bytes_per_element(quantized: bool) -> float:
    return FP8_DISPATCH_BYTES if quantized else ACT_BYTES


def all_to_all_bytes_per_token(model: ModelSpec, quantized: bool = False) -> float:
    """Bytes one token sends per MoE layer: dispatch + combine of k copies of its hidden state (dispatch
    in FP8 with scales when ``quantized``, combine 16-bit)."""
    if model.moe is None:
        return 0.0
    return model.moe.topk * model.hidden * (dispatch_bytes_per_element(quantized) + ACT_BYTES)


def concurrent_all_to_all(p: np.ndarray, per_domain: np.ndarray, nbytes: np.ndarray, up: coll.Tier,
                          out: coll.Tier, kernel_latency_s: float = 0.0) -> np.ndarray:
    """All-to-All with every peer's message issued at once: one latency step (the larger tier's when the
    group leaves the domain, at least the EP kernel's fixed cost ``kernel_latency_s``) plus the bandwidth
    terms of the hierarchical All-to-All (module docstring)."""
    p, g = np.asarray(p, dtype=float), np.minimum(np.asarray(per_domain, dtype=float), p)
    up0, out0 = (dataclasses.replace(t, extra_latency_s=-t.link.latency_s) for t in (up, out))
    wire = coll.all_to_all_hierarchical(p, g, nbytes, up0, out0)
    alpha = np.where(p > g, np.maximum(up.latency_s, out.latency_s), up.latency_s)
    alpha = np.maximum(alpha, kernel_latency_s)
    return np.where((p > 1) & (np.asarray(nbytes) > 0), wire + alpha, 0.0)


def all_to_all_time(model: ModelSpec, group_tokens: np.ndarray, tp: np.ndarray, ep: np.ndarray, tiers: tuple,
                    domain: int | None, quantized: bool = False) -> np.ndarray:
    """Seconds of dispatch + combine over all MoE layers for one pass of an attention group's
    ``group_tokens``; zero at ep = 1 (the experts then sit in the TP group, whose all-reduces
    :func:`flopwatt.perf.serving_step.tp_comm_time` counts). ``tiers`` = (scale-up, scale-out);
    ``domain`` devices per scale-up domain (None: the whole replica shares one); ``quantized``: the expert
    GEMMs take FP8/FP4 inputs, so dispatch moves FP8 (module docstring)."""
    if model.moe is None:
        return np.zeros_like(np.asarray(group_tokens, dtype=float))
    p = tp * ep
    per_domain = p if domain is None else np.minimum(p, domain)
    elements = group_tokens / tp * model.moe.topk * model.hidden
    fixed = kernels.deepep_fixed_latency_s()
    dispatch, combine = (concurrent_all_to_all(p, per_domain, elements * b, tiers[0], tiers[1], alpha)
                         for b, alpha in zip((dispatch_bytes_per_element(quantized), ACT_BYTES), fixed, strict=True))
    return np.where(ep > 1, model.moe_layers * (dispatch + combine), 0.0)
