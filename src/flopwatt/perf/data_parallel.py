"""The end of a training step across data-parallel replicas: the exposed gradient/parameter collectives and the
wait for the slowest rank (used by :mod:`flopwatt.perf.training`).

Gradient sync with a sharded optimizer (ZeRO-1/2, Megatron's distributed optimizer) is a ReduceScatter of the
gradient buffer and an AllGather of the updated parameters, each in its own type: Megatron-LM's
DistributedOptimizer (megatron/optimizer/distributed_optimizer.py, 2023: ``reduce_model_grads`` runs
``_reduce_scatter_base`` on the DDP grad buffer, fp32 under ``accumulate_allreduce_grads_in_fp32``;
``gather_model_params`` runs ``_all_gather_base`` on the param buffers, views of the grad buffer's storage in the
params' dtype). Without sharding (ZeRO-0) it is one AllReduce of the gradients.

Rank jitter: where a stack's host-side work (Python garbage collection, some PyTorch operations) delays ranks at
random, every synchronous step waits for the slowest of the N ranks (MegaScale, Jiang et al. 2024 Sec. 6.3:
"some ranks initiate the reduce-scatter operation later than others, forcing a wait for the slowest rank"; the
cause: "irregular garbage collection ... certain PyTorch operations"; the same reason is why torchtnt's
GarbageCollector callback, pytorch/tnt torchtnt/framework/callbacks/garbage_collector.py, collects synchronously
on every rank at set steps in fully-synchronous training). With each rank's delay exponential of mean
tau, E[max of N] = tau x H_N (H_N = 1 + 1/2 + ... + 1/N ~ ln N + 0.577): it grows with the log of the job size.
The exponential tail is an assumption (no source gives the delay's distribution); tau is fitted on FIT rows by
bench/calibrate_jitter.py and lives in the stack's catalog entry.
"""

from __future__ import annotations

import numpy as np

from flopwatt.perf import collectives as coll
from flopwatt.perf import experts, ici_layout, memory, overlap
from flopwatt.perf.plans import Plans

EULER_GAMMA = 0.5772156649015329


_EXACT = np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1, 257))])


def harmonic_number(n: np.ndarray) -> np.ndarray:
    """H_n = sum_{k<=n} 1/k for n >= 1 ranks (rounded): summed up to 256, beyond by its asymptotic series
    ln n + gamma + 1/(2n) - 1/(12 n^2), whose error there is below 1e-10."""
    n = np.maximum(np.rint(np.asarray(n, dtype=float)), 1.0)
    series = np.log(n) + EULER_GAMMA + 1 / (2 * n) - 1 / (12 * n**2)
    return np.where(n < _EXACT.size, _EXACT[np.minimum(n, _EXACT.size - 1).astype(int)], series)


def rank_jitter_time(mean_delay_s: float | None, ranks: np.ndarray) -> np.ndarray:
    """Expected wait per step for the slowest of ``ranks`` ranks whose delays are exponential of mean
    ``mean_delay_s`` (module doc); zero where the stack has none (None)."""
    ranks = np.asarray(ranks, dtype=float)
    if mean_delay_s is None:
        return np.zeros_like(ranks)
    return mean_delay_s * harmonic_number(ranks)


def sync_bytes(ctx, plans: Plans, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bytes per device of the gradient ReduceScatter and of the AllGather that follows it (the updated 16-bit
    parameters with a sharded optimizer, the reduced gradients without)."""
    grads = params * ctx.grad_reduce_bytes
    return grads, np.where(plans.zero_stage >= 1, params * memory.WEIGHT_BYTES, grads)


def dp_times(ctx, plans: Plans, params: np.ndarray, mb: dict[str, np.ndarray]) -> np.ndarray:
    """Exposed data-parallel communication per step (s)."""
    if ctx.torus is not None:
        return ici_layout.dp_time(ctx, plans, params, mb)
    per_domain = np.clip(ctx.system.scale_up_domain_devices // plans.tp, 1, plans.dp)
    out = ctx.out_for(np.ceil(plans.dp / per_domain))
    routed = experts.routed_params_per_device(ctx.model, plans, mb["_held_layers"])  # reduced over expert DP
    grads, gathered = sync_bytes(ctx, plans, params - routed)
    expert_grads, expert_gathered = sync_bytes(ctx, plans, routed)
    scatter = (coll.hierarchical("rs", plans.dp, per_domain, grads, ctx.up, out)
               + experts.expert_dp_time(ctx, plans, "rs", expert_grads))
    gather = (coll.hierarchical("ag", plans.dp, per_domain, gathered, ctx.up, out)
              + experts.expert_dp_time(ctx, plans, "ag", expert_gathered))
    step_end = scatter + gather
    if ctx.stack.dp_chunk_overlap:
        step_end = overlap.dp_chunked(ctx.rates, gather, scatter, plans.vpp, mb["_forward_stage"],
                                      mb["_backward_stage"])
    elif ctx.stack.dp_overlap:
        step_end = ctx.rates.exposed(step_end, mb["_backward_stage"])
    weights, expert_weights = (params - routed) * memory.WEIGHT_BYTES, routed * memory.WEIGHT_BYTES
    gathers = 2 + plans.recompute_weights(ctx.stack.selective_recompute)[0]  # fwd, bwd, recomputed fwd
    zero3_domain = 1 if ctx.stack.zero3_flat_collectives else per_domain
    zero3 = (gathers * coll.hierarchical("ag", plans.dp, zero3_domain, weights, ctx.up, out)
             + coll.hierarchical("rs", plans.dp, zero3_domain, grads, ctx.up, out)
             + gathers * experts.expert_dp_time(ctx, plans, "ag", expert_weights)
             + experts.expert_dp_time(ctx, plans, "rs", expert_grads))
    if ctx.stack.zero3_prefetch_overlap:
        zero3 = ctx.rates.exposed(zero3, mb["compute"] + mb["recompute"])
    m = np.maximum(plans.micro_batches, 1)
    return np.where(plans.dp == 1, 0.0, np.where(plans.zero_stage >= 3, m * zero3, step_end))
