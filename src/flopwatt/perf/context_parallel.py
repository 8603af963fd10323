"""Context-parallel KV exchange per layer and micro-batch (vectorised).

Each of cp ranks holds s / cp of the sequence (ring attention: Liu et al. 2023; Megatron-Core CP); its queries
need every rank's keys and values: cp - 1 chunks of 2 x s / cp x kv_width / tp elements per layer forward, and
the backward moves K, V and their gradients (twice that). Two ways to move them:

- ring (Megatron-Core): each step sends one chunk to the next rank while the step's attention runs, so the
  exchange hides behind the whole attention core (the sum of its steps);
- all-gather (torchtitan's default ``context_parallel_rotate_method = "allgather"``, config_manager.py: 'all-gather
  all kv shards on ranks after the first sub-SDPA computation'): one AllGather of the cp chunks, which only the
  first sub-attention (the local chunk, 1/cp of the core) runs beside. The backward's gradient exchange is taken
  as in the ring (not confirmed for the all-gather method).

Which a stack does is its ``cp_kv_exchange`` (stacks.toml, with the source).
"""

from __future__ import annotations

import numpy as np

from flopwatt.perf import collectives as coll
from flopwatt.perf.plans import Plans


def cp_layer_time(ctx, plans: Plans, seq_local: np.ndarray, attention_core: np.ndarray,
                  backward_core: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(exposed KV exchange per layer per micro-batch, bytes per device), forward, recomputed forward and backward."""
    model = ctx.model
    kv_width = model.kv_width if model.mla is None else model.mla.kv_lora_rank + model.mla.qk_rope_head_dim
    chunk = 2 * plans.micro_batch * seq_local * kv_width / plans.tp * ctx.rates.act_bytes
    inside = plans.tp * plans.cp <= ctx.system.scale_up_domain_devices
    out = ctx.out_for(np.ceil(plans.cp * plans.tp / ctx.system.scale_up_domain_devices))
    step = np.where(inside, coll.p2p(chunk, ctx.up), coll.p2p(chunk, out))
    forward = (plans.cp - 1) * step
    hidden_behind = attention_core
    if ctx.stack.cp_kv_exchange == "allgather":
        gathered = plans.cp * chunk
        forward = np.where(inside, coll.all_gather(plans.cp, gathered, ctx.up),
                           coll.all_gather(plans.cp, gathered, out))
        hidden_behind = attention_core / plans.cp
    backward = 2 * (plans.cp - 1) * step
    passes = 1 + plans.recompute_weights(ctx.stack.selective_recompute)[0]
    exposed = passes * ctx.rates.exposed(forward, hidden_behind) + ctx.rates.exposed(backward, backward_core)
    moved = (passes + 2) * (plans.cp - 1) * chunk
    return np.where(plans.cp > 1, exposed, 0.0), np.where(plans.cp > 1, moved, 0.0)
