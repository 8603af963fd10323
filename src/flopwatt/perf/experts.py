"""Expert-parallel and context-parallel communication per layer and micro-batch (vectorised).

Expert parallelism (GShard, Lepikhin et al. 2020; DeepSeek-V3 Sec. 3.2): each MoE layer sends every
token's hidden state to the devices holding its top-k experts (dispatch) and brings the results
back (combine): two All-to-Alls forward, two backward, two more when the layer is recomputed. A
device sends tokens_local / tp x topk x hidden x bytes per All-to-All (the share for its own experts
stays local). EP ranks are consecutive data-parallel ranks, so the first ``domain / (tp x cp)`` of
them share a scale-up domain; a rail-only fabric forwards cross-rail bytes through that domain
(Wang et al. 2023).

Context parallelism (ring attention: Liu et al. 2023; Megatron-Core CP): each of cp ranks holds
s / cp of the sequence; per layer the K and V chunks travel the ring (cp - 1 steps of
2 x s / cp x kv_width / tp elements), and backward moves K, V and their gradients (twice that).
The exchange overlaps the attention-core computation it feeds.
"""

from __future__ import annotations

import numpy as np

from flopwatt.perf import collectives as coll
from flopwatt.perf.plans import Plans

ALL_TO_ALLS_FORWARD = 2  # dispatch + combine


def ep_bytes_per_all_to_all(model, plans: Plans, seq_local: np.ndarray, act_bytes: float) -> np.ndarray:
    """Bytes one device sends in one dispatch (or combine) All-to-All of a MoE layer."""
    tokens = plans.micro_batch * seq_local / plans.tp
    return tokens * model.moe.topk * model.hidden * act_bytes


def ep_layer_time(ctx, plans: Plans, seq_local: np.ndarray, moe_compute: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(exposed EP time per MoE layer per micro-batch, bytes per device) incl. backward and recompute."""
    model = ctx.model
    nbytes = ep_bytes_per_all_to_all(model, plans, seq_local, ctx.rates.act_bytes)
    domain = ctx.system.scale_up_domain_devices
    per_domain = np.clip(domain // (plans.tp * plans.cp), 1, plans.ep)
    out = ctx.out_for(np.ceil(plans.ep / per_domain))
    rail_only = ctx.fabric is not None and ctx.fabric.topology.kind == "rail-only"
    a2a = coll.all_to_all_rail_only if rail_only else coll.all_to_all_hierarchical
    one = a2a(plans.ep, per_domain, nbytes, ctx.up, out)
    count = ALL_TO_ALLS_FORWARD * (2 + (plans.recompute == 2))  # forward, backward, recomputed forward
    total = np.where(plans.ep > 1, count * one, 0.0)
    if ctx.stack.ep_overlap:
        total = ctx.rates.exposed(total, moe_compute)
    moved = np.where(plans.ep > 1, count * nbytes * (plans.ep - 1) / plans.ep, 0.0)
    return total, moved


def cp_layer_time(ctx, plans: Plans, seq_local: np.ndarray, attention_core: np.ndarray,
                  backward_core: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(exposed ring-attention KV exchange per layer per micro-batch, bytes per device)."""
    model = ctx.model
    kv_width = model.kv_width if model.mla is None else model.mla.kv_lora_rank + model.mla.qk_rope_head_dim
    chunk = 2 * plans.micro_batch * seq_local * kv_width / plans.tp * ctx.rates.act_bytes
    inside = plans.tp * plans.cp <= ctx.system.scale_up_domain_devices
    out = ctx.out_for(np.ceil(plans.cp * plans.tp / ctx.system.scale_up_domain_devices))
    step = np.where(inside, coll.p2p(chunk, ctx.up), coll.p2p(chunk, out))
    forward = (plans.cp - 1) * step
    backward = 2 * forward
    passes = 1 + (plans.recompute == 2)
    exposed = (passes * ctx.rates.exposed(forward, attention_core) + ctx.rates.exposed(backward, backward_core))
    moved = (passes + 2) * (plans.cp - 1) * chunk
    return np.where(plans.cp > 1, exposed, 0.0), np.where(plans.cp > 1, moved, 0.0)
