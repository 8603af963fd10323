"""Time of one serving iteration on one device, kernel by kernel, vectorised over plans.

An iteration of a continuous batch (Orca, Yu et al. OSDI'22) runs the decode tokens of the running
sequences and, with chunked prefill (Sarathi-Serve, Agrawal et al. OSDI'24), a chunk of prompt tokens
through the same layers. Per layer, on one device of a tensor-parallel group:

- linear GEMMs (QKV, output projection, MLP or experts) over all ``tokens`` of the iteration at once,
  each a roofline ``max(FLOPs / (peak x eff(FLOPs)), bytes / (HBM x eff_mem))`` where bytes are the
  weights (streamed once per iteration, whatever the batch) plus the activations;
- attention: decode queries stream their sequences' KV cache (memory-bound: FlashDecoding / paged
  attention); prefill queries attend causally over their prompt (compute-bound, FlashAttention);
- fused element-wise kernels (memory-bound), counted per token below;
- two all-reduces of the layer output across TP (Megatron row/column split, Shoeybi et al. 2019), one-shot or
  two-shot on a switched domain (:func:`flopwatt.perf.collectives.all_reduce_serving`); on xGMI's point-to-point
  mesh a group reaches only the links to its own peers (:func:`group_tier`).

Element-wise traffic per token per layer, in activation elements, for an inference engine that fuses
the residual add into RMSNorm (vLLM ``fused_add_rms_norm``, TensorRT-LLM's fused AddRMSNorm) and the
gate into the activation (SwiGLU ``silu_and_mul``): two norms read the residual and the branch output
and write both back (2 x 4h); the gated activation reads 2f/t and writes f/t; rotary embedding reads
and writes the local query and key heads. What a layer's kernels take beyond these rooflines whatever their
size (launch gaps, fill and drain) is one fixed time per layer, added by :func:`flopwatt.perf.serving._stage`.

MoE layers without expert parallelism (``ep`` = 1) split every expert over the TP group as a dense MLP is split,
each rank routing all tokens (TensorRT-LLM's default moe_tp_size = tp: :mod:`flopwatt.perf.serving_moe`); with
``ep`` > 1 they place whole experts across the ``tp x ep`` devices of ``ep`` attention groups
(:mod:`flopwatt.perf.serving_ep`). An iteration of ``m`` routed tokens touches on average
``E (1 - (1 - k/E)^m)`` of the ``E`` experts (each token picks k of E), and only those are streamed.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from flopwatt.perf import collectives as coll
from flopwatt.perf import flops as fl
from flopwatt.perf import serving_balance as balance
from flopwatt.perf import serving_kernels as kernels
from flopwatt.perf import serving_moe
from flopwatt.perf.compute import DeviceRates, roofline_time
from flopwatt.specs import ModelSpec

ACT_BYTES = 2.0
"""Activations stay 16-bit between kernels (FP8 serving quantises them inside the GEMM prologue)."""


def _gemm_group(gemms: fl.Gemms, rates: DeviceRates, tokens: np.ndarray, weight_bytes: float,
                touched: dict[str, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(time, weight bytes streamed) of the named linear GEMMs, weights at ``weight_bytes`` per element.

    A linear op's FLOPs are 2 x rows x its weights, so its weights are FLOPs / (2 rows); the
    activation bytes are what is left of the roofline bytes once the weight operand is taken out.
    """
    time = np.zeros_like(tokens, dtype=float)
    streamed = np.zeros_like(tokens, dtype=float)
    for name, (flops, nbytes, calls) in gemms.items():
        if name in fl.ATTENTION_CORE:
            continue
        rows = tokens if touched is None or name not in touched else touched[name][0]
        weights = np.divide(flops, 2.0 * rows, out=np.zeros_like(flops, dtype=float), where=rows > 0)
        share = 1.0 if touched is None or name not in touched else touched[name][1]
        w_bytes = weights * weight_bytes * share
        nbytes_op = nbytes - ACT_BYTES * weights + w_bytes
        time = time + calls * rates.gemm_time(flops, nbytes_op, linear=True)
        streamed = streamed + calls * w_bytes
    return time, streamed


MOE_GEMMS = ("router", "expert_up", "expert_down", "shared_up", "shared_down")
"""GEMMs of an MoE layer that run on the routed tokens over the expert-parallel group (the rest is attention)."""


def linear_time(model: ModelSpec, rates: DeviceRates, tokens: np.ndarray, tp: np.ndarray, weight_bytes: float,
                ep: np.ndarray | float = 1.0, routed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(time, weight bytes streamed) of every layer's linear GEMMs for ``tokens`` rows, one device.

    ``tokens`` are one attention group's (tensor parallel over ``tp``); with ``ep`` groups the MoE GEMMs run
    on the ``routed`` tokens of all groups (default ``tokens``) with the experts spread over ``tp x ep``
    devices (:mod:`flopwatt.perf.serving_ep`).
    """
    shard = fl.Shard(seq=np.ones_like(tokens, dtype=float), batch=tokens, tp=tp)
    dense_t, dense_w = _gemm_group(fl.layer_gemms(model, shard, ACT_BYTES), rates, tokens, weight_bytes)
    time, streamed = model.dense_layers * dense_t, model.dense_layers * dense_w
    if model.moe is not None:
        moe_t, moe_w = _moe_layer(model, rates, tokens, (tp, tp * ep), weight_bytes,
                                  tokens if routed is None else routed)
        time, streamed = time + model.moe_layers * moe_t, streamed + model.moe_layers * moe_w
    return time, streamed


def _moe_layer(model: ModelSpec, rates: DeviceRates, tokens: np.ndarray, groups: tuple, weight_bytes: float,
               routed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One MoE layer: attention GEMMs on the group's ``tokens`` over ``tp``; router, shared and routed experts on
    the ``routed`` tokens: split over the TP group where ``tp x ep`` = ``tp`` (:func:`_moe_tp_layer`), else over
    the ``tp x ep`` devices that hold whole experts (:func:`_moe_ep_layer`)."""
    tp, group = (np.asarray(g, dtype=float) for g in groups)
    one = np.ones_like(tokens, dtype=float)
    attention = fl.layer_gemms(model, fl.Shard(seq=one, batch=tokens, tp=tp, ep=group), ACT_BYTES, moe=True,
                               capacity=False)
    tp_only = np.broadcast_to(group <= tp, np.shape(tokens))
    if np.all(tp_only):  # each layout is computed only where some plan uses it
        return _moe_tp_layer(model, rates, tokens, tp, weight_bytes, routed, attention)
    ep_time, ep_streamed = _moe_ep_layer(model, rates, tokens, group, weight_bytes, routed, attention)
    if not np.any(tp_only):
        return ep_time, ep_streamed
    tp_time, tp_streamed = _moe_tp_layer(model, rates, tokens, tp, weight_bytes, routed, attention)
    return np.where(tp_only, tp_time, ep_time), np.where(tp_only, tp_streamed, ep_streamed)


def _moe_tp_layer(model: ModelSpec, rates: DeviceRates, tokens: np.ndarray, tp: np.ndarray, weight_bytes: float,
                  routed: np.ndarray, attention: fl.Gemms) -> tuple[np.ndarray, np.ndarray]:
    """Tensor-parallel experts (:mod:`flopwatt.perf.serving_moe`): every rank runs every touched expert's 1/tp
    slice on its share of all ``routed`` tokens, then the token shuffle around the grouped GEMMs."""
    spec = model.moe
    gemms = {name: gemm for name, gemm in attention.items() if name not in MOE_GEMMS}
    gemms.update(serving_moe.moe_tp_gemms(model, routed, tp, ACT_BYTES))
    share = 1.0 - (1.0 - spec.topk / spec.experts) ** routed
    touched = {name: (routed * spec.topk / spec.experts, share) for name in ROUTED_EXPERTS}
    touched.update({name: (routed, 1.0) for name in ("router", "shared_up", "shared_down")})
    time, streamed = _routed_apart(gemms, rates, tokens, weight_bytes, touched)
    shapes = _expert_shapes(model, spec.ffn_hidden / np.asarray(tp, dtype=float))
    experts_t, experts_w = _routed_time(rates, gemms, tokens, weight_bytes, touched, spec.experts * share,
                                        routed * spec.topk, shapes)
    return time + experts_t + serving_moe.token_shuffle_time(model, rates, routed, ACT_BYTES), streamed + experts_w


ROUTED_EXPERTS = ("expert_up", "expert_down")


def _routed_apart(gemms: fl.Gemms, rates: DeviceRates, tokens: np.ndarray, weight_bytes: float,
                  touched: dict) -> tuple[np.ndarray, np.ndarray]:
    """(time, weight bytes streamed) of every GEMM of the layer but the routed experts'."""
    rest = {name: gemm for name, gemm in gemms.items() if name not in ROUTED_EXPERTS}
    return _gemm_group(rest, rates, tokens, weight_bytes, touched)


def _routed_time(rates: DeviceRates, gemms: fl.Gemms, tokens: np.ndarray, weight_bytes: float, touched: dict,
                 experts_touched: np.ndarray, rows: np.ndarray, shapes: tuple) -> tuple[np.ndarray, np.ndarray]:
    """(time, weight bytes streamed) of the routed experts on one rank
    (:func:`flopwatt.perf.serving_moe.routed_expert_time`): one call per expert, or one grouped pass, by the rows
    each touched expert gets; either way each touched expert's weights are streamed once."""
    routed = {name: gemms[name] for name in ROUTED_EXPERTS}
    per_expert, streamed = _gemm_group(routed, rates, tokens, weight_bytes, touched)
    grouped = serving_moe.grouped_expert_time(rates, experts_touched, rows, shapes, weight_bytes, ACT_BYTES)
    rows_per_expert = serving_moe.rows_per_touched_expert(rows, experts_touched)
    return serving_moe.routed_expert_time(per_expert, grouped, rows_per_expert), streamed


def _expert_shapes(model: ModelSpec, width: np.ndarray | float) -> tuple:
    """``(n, k)`` of an expert's up (gate and up fused) and down GEMMs at ``width`` intermediate columns."""
    return (((model.mlp_matrices - 1) * width, float(model.hidden)), (float(model.hidden), width))


def _moe_ep_layer(model: ModelSpec, rates: DeviceRates, tokens: np.ndarray, group: np.ndarray, weight_bytes: float,
                  routed: np.ndarray, attention: fl.Gemms) -> tuple[np.ndarray, np.ndarray]:
    """Expert-parallel experts: each of the ``group`` = tp x ep devices holds E / (tp ep) whole experts (or a slice
    of one when tp ep > E); the routed experts run the busiest rank's rows."""
    spec = model.moe
    one = np.ones_like(tokens, dtype=float)
    experts = fl.layer_gemms(model, fl.Shard(seq=one, batch=routed, tp=group, ep=group), ACT_BYTES, moe=True,
                             capacity=False)
    # the busiest expert rank sets the layer's time (:mod:`flopwatt.perf.serving_balance`)
    busiest = routed * balance.busiest_expert_rank_factor(routed, spec.topk, spec.experts, group)
    busy = fl.layer_gemms(model, fl.Shard(seq=one, batch=busiest, tp=group, ep=group), ACT_BYTES, moe=True,
                          capacity=False)
    gemms = {name: (experts if name in MOE_GEMMS else attention)[name] for name in attention}
    gemms.update({name: busy[name] for name in ROUTED_EXPERTS})
    rows_per_expert = busiest * spec.topk / spec.experts
    share = 1.0 - (1.0 - spec.topk / spec.experts) ** routed
    touched = {name: (rows_per_expert, share) for name in ROUTED_EXPERTS}
    # the router and shared experts run on each rank's share of the tokens with replicated weights
    touched.update({name: (routed / group, 1.0) for name in ("router", "shared_up", "shared_down")})
    time, streamed = _routed_apart(gemms, rates, tokens, weight_bytes, touched)
    # the busiest rank holds E / group whole experts, or a 1 / (group / E) slice of one where group > E
    held = spec.experts / np.asarray(group, dtype=float)
    shapes = _expert_shapes(model, spec.ffn_hidden * np.minimum(held, 1.0))
    experts_t, experts_w = _routed_time(rates, gemms, tokens, weight_bytes, touched, np.maximum(held, 1.0) * share,
                                        busiest * spec.topk / np.minimum(group, spec.experts), shapes)
    return time + experts_t, streamed + experts_w


def _attention_width(model: ModelSpec) -> float:
    """Q K^T plus attention x V multiply-adds per query per key, all heads of one layer (MLA: the
    decompressed heads, as a prompt is attended)."""
    if model.mla is None:
        return 2.0 * model.attention_width
    m = model.mla
    return model.heads * (m.qk_nope_head_dim + m.qk_rope_head_dim + m.v_head_dim)


def _decode_attention_width(model: ModelSpec) -> float:
    """:func:`_attention_width` of a decode step. MLA decodes over the latent itself, the up-projections
    absorbed into the query and output (DeepSeek-V2, arXiv:2405.04434, Sec. 2.1.2): every head multiplies
    its query with the ``kv_lora_rank + qk_rope_head_dim`` key and its weights with the ``kv_lora_rank``
    value of each cached token, as FlashMLA counts it (deepseek-ai/FlashMLA tests/test_flash_mla.py:
    FLOPS = s_q x total_seqlens x h_q x (d + dv) x 2 with d = 576 = 512 + 64 and dv = 512; commit not read)."""
    if model.mla is None:
        return _attention_width(model)
    m = model.mla
    return model.heads * (2.0 * m.kv_lora_rank + m.qk_rope_head_dim)


def decode_attention_time(model: ModelSpec, rates: DeviceRates, sequences: np.ndarray, context: np.ndarray,
                          kv_bytes_per_token_layer: np.ndarray, tp: np.ndarray) -> np.ndarray:
    """One new token for each of ``sequences``, each reading its whole KV cache of ``context`` tokens
    (FlashDecoding / paged attention: memory-bound for MHA/GQA; MLA's absorbed heads make it compute-bound
    at 128 heads, at FlashMLA's measured rates, BF16 or FP8 cache), all layers, one device."""
    flops = 2.0 * sequences * context * _decode_attention_width(model) / tp
    nbytes = sequences * context * kv_bytes_per_token_layer
    if model.mla is not None:  # FlashMLA's measured rates (:mod:`flopwatt.perf.serving_kernels`)
        mla = kernels.mla_decode_kernel()
        latent = model.mla.kv_lora_rank + model.mla.qk_rope_head_dim
        element = float(np.max(kv_bytes_per_token_layer, initial=0.0)) / latent  # initial: an empty batch of plans
        peak = rates.peak_flops_per_s * mla.compute_fraction(element)
        return model.layers * roofline_time(flops / peak, nbytes / (rates.hbm_bandwidth_bytes_per_s
                                                                        * mla.memory_fraction), rates.roofline_norm)
    return model.layers * rates.gemm_time(flops, nbytes)


def prefill_attention_time(model: ModelSpec, rates: DeviceRates, tokens: np.ndarray, prompt: float,
                           kv_bytes_per_token_layer: np.ndarray, tp: np.ndarray) -> np.ndarray:
    """``tokens`` prompt tokens attending causally: on average over half their prompt. The KV read is
    per chunk of prompt (FlashAttention tiles), not per query, so bytes are the chunk's keys once."""
    flops = 2.0 * tokens * (prompt / 2.0) * _attention_width(model) / tp
    nbytes = tokens * kv_bytes_per_token_layer * 2.0  # write the new KV and read it back
    return model.layers * rates.gemm_time(flops, nbytes)


def elementwise_time(model: ModelSpec, rates: DeviceRates, tokens: np.ndarray, tp: np.ndarray) -> np.ndarray:
    """Fused norms, gated activation and rotary embedding of ``tokens`` over all layers (module docstring)."""
    h = model.hidden
    f = model.ffn_hidden if model.moe is None else (model.moe.topk + model.moe.shared_experts) * model.moe.ffn_hidden
    gated = 3.0 if model.mlp_matrices == 3 else 2.0
    rotary = 2.0 * (model.attention_width + model.kv_width) / tp if model.mla is None else 0.0
    elements = tokens * (8.0 * h + gated * f / tp + rotary)
    return model.layers * rates.memory_time(elements * ACT_BYTES)


def logits_time(model: ModelSpec, rates: DeviceRates, tokens: np.ndarray, tp: np.ndarray,
                weight_bytes: float) -> np.ndarray:
    """Output layer for the tokens that sample (one per decoding sequence), vocabulary split over TP."""
    flops, nbytes = fl.logits_gemm(model, np.ones_like(tokens, dtype=float), tokens, tp, ACT_BYTES)
    weights = model.hidden * model.vocab / tp
    return rates.gemm_time(flops, nbytes - ACT_BYTES * weights + weight_bytes * weights, linear=True)


POINT_TO_POINT = ("xgmi",)
"""Scale-up fabrics that are a full mesh of point-to-point links, one to each peer, not a switch: AMD Infinity
Fabric (xGMI) on an 8-GPU MI300X/MI325X/MI355X platform, 7 links per GPU (MI300X data sheet: 7 x 128 GB/s
bidirectional, 64 GB/s per direction; catalog/accelerators.toml mi300x notes). The scale-up bandwidth in the
catalog is the all-peer aggregate."""


def group_tier(up: coll.Tier, tp: np.ndarray, domain_devices: int | None) -> coll.Tier:
    """The scale-up tier as a tensor-parallel group of ``tp`` ranks sees it. On a switch every rank drives its
    whole bandwidth into any group; on a point-to-point mesh of ``domain_devices`` a rank reaches its
    ``tp - 1`` peers over ``tp - 1`` of its ``domain_devices - 1`` links, so the group gets that share of the
    aggregate: a one-shot all-reduce (each rank reads every peer's buffer) then takes ``n / link`` whatever
    ``tp``, and the ring's rings spread over the same links."""
    if domain_devices is None or domain_devices < 2 or not up.link.technology.startswith(POINT_TO_POINT):
        return up
    peers = np.clip(np.asarray(tp, dtype=float) - 1.0, 1.0, domain_devices - 1.0)
    return dataclasses.replace(up, share=up.share * peers / (domain_devices - 1.0))


def tp_comm_time(model: ModelSpec, tokens: np.ndarray, tp: np.ndarray, up: coll.Tier,
                 domain_devices: int | None) -> np.ndarray:
    """Two all-reduces of the hidden state per layer (after attention and after the MLP), in the serving
    engines' latency-optimised form (:func:`flopwatt.perf.collectives.all_reduce_serving`), over the links
    the group reaches (:func:`group_tier`; ``domain_devices`` None: a switch)."""
    tier = group_tier(up, tp, domain_devices)
    return 2 * model.layers * coll.all_reduce_serving(tp, ACT_BYTES * model.hidden * tokens, tier)


def graph_padded_batch(sequences: np.ndarray, graph_batch_sizes: tuple[int, ...]) -> np.ndarray:
    """Rows a decode-only iteration of ``sequences`` runs with CUDA-graph padding: the next captured batch size
    (TensorRT-LLM ``cuda_graph_config.enable_padding``: "an incoming batch is padded to the next available captured
    size, wasting some compute on empty slots", NVIDIA/TensorRT-LLM docs/source/blogs/tech_blog/
    blog20_Tuning_CUDA_Graph_Batch_Sizes_for_Higher_Output_Throughput.md). A batch above the largest captured
    size runs without a graph, unpadded."""
    sizes = np.sort(np.asarray(graph_batch_sizes, dtype=float))
    seqs = np.asarray(sequences, dtype=float)
    index = np.minimum(np.searchsorted(sizes, seqs, side="left"), len(sizes) - 1)
    return np.where(seqs <= sizes[-1], np.maximum(sizes[index], seqs), seqs)


def decode_only_share(sequences: np.ndarray, output_tokens: float, prompt_iterations: float) -> np.ndarray:
    """Share of iterations that carry no prompt (the only ones a CUDA graph replays). In the steady state
    ``sequences / output_tokens`` requests finish, and as many prompts start, per iteration; each rides
    ``prompt_iterations`` iterations (its chunks). Taking prompt starts as Poisson over iterations (ASSUMED),
    an iteration is decode-only with probability ``exp(-rate x prompt_iterations)``."""
    rate = np.asarray(sequences, dtype=float) / float(output_tokens)
    return np.exp(-rate * float(prompt_iterations))
