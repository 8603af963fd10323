"""The end of a training step across data-parallel replicas: the exposed gradient/parameter collectives and the
wait for the slowest replica (used by :mod:`flopwatt.perf.training`).

Gradient sync with a sharded optimizer (ZeRO-1/2, Megatron's distributed optimizer) is a ReduceScatter of the
gradient buffer and an AllGather of the updated parameters, each in its own type: Megatron-LM's
DistributedOptimizer (megatron/optimizer/distributed_optimizer.py, 2023: ``reduce_model_grads`` runs
``_reduce_scatter_base`` on the DDP grad buffer, fp32 under ``accumulate_allreduce_grads_in_fp32``;
``gather_model_params`` runs ``_all_gather_base`` on the param buffers, views of the grad buffer's storage in the
params' dtype). Without sharding (ZeRO-0) it is one AllReduce of the gradients.

Rank jitter (MegaScale, Jiang et al. 2024 Sec. 6.3): host-side work that is not coordinated across ranks (Python
garbage collection, "certain PyTorch operations") stalls ranks at random during the forward pass; "some ranks
initiate the reduce-scatter operation later than others, forcing a wait for the slowest rank" (the same reason
torchtnt's GarbageCollector callback, pytorch/tnt torchtnt/framework/callbacks/garbage_collector.py, collects on
every rank at set steps). Where the wait builds up follows the plan's synchronisation: a stalled rank stalls its
tensor-parallel peers at the next layer collective and its pipeline neighbours at the next send/receive, so one
replica (its R = N / dp ranks) loses the SUM of its ranks' stalls; replicas meet once, at the gradient
reduce-scatter, so the step waits for the slowest of the dp replicas. With each rank's stall per step exponential
of mean tau, a replica's loss is Gamma(R, tau) and the step's expected wait is tau x E[max of dp Gamma(R, 1)]
(:func:`expected_max_of_sums`): R tau for one replica, tau x H_dp for one rank per replica, and in between
R tau + sqrt(R) tau x (the expected maximum of dp standard normals, ~ sqrt(2 ln dp)). Its growth with the job size
is that of a Gaussian maximum over the replicas, not the harmonic number of all ranks. The exponential stall is an
assumption (no source gives its distribution); tau is fitted on FIT rows by bench/calibrate_jitter.py and lives in
the stack's catalog entry.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from flopwatt.perf import collectives as coll
from flopwatt.perf import experts, ici_layout, memory, overlap
from flopwatt.perf.plans import Plans

EXACT_SHAPE_MAX = 256
"""Replica sizes up to which the Gamma CDF is summed exactly; beyond, Wilson-Hilferty (error < 1e-3)."""
GRID_POINTS = 4001

_ERF = np.frompyfunc(math.erf, 1, 1)


def _gamma_cdf(shape: int, y: np.ndarray) -> np.ndarray:
    """P(Gamma(shape, 1) <= y) for an integer shape: 1 - e^-y sum_{k<shape} y^k / k! (the Poisson tail) summed
    in log space up to EXACT_SHAPE_MAX, beyond by the Wilson-Hilferty cube-root normal approximation."""
    if shape <= EXACT_SHAPE_MAX:
        k = np.arange(shape, dtype=float)
        log_fact = np.cumsum(np.log(np.maximum(k, 1.0)))
        log_y = np.log(np.maximum(y, 1e-300))[:, None]
        terms = np.exp(-y[:, None] + k[None, :] * log_y - log_fact[None, :])
        return np.clip(1.0 - terms.sum(axis=1), 0.0, 1.0)
    c = 1.0 / (9.0 * shape)
    z = (np.cbrt(y / shape) - (1.0 - c)) / np.sqrt(c)
    return 0.5 * (1.0 + _ERF(z / math.sqrt(2.0)).astype(float))


@functools.lru_cache(maxsize=1024)
def expected_max_of_sums(ranks_per_replica: int, replicas: int) -> float:
    """E[max over ``replicas`` of the sum of ``ranks_per_replica`` unit-mean exponentials], i.e. of that many
    Gamma(R, 1) variables: the integral of 1 - F(y)^n over y >= 0 (trapezoid rule on a grid reaching 40 standard
    deviations and 2 ln n past the mean). Exact cases: R for one replica, H_n for R = 1."""
    r, n = max(int(ranks_per_replica), 1), max(int(replicas), 1)
    if n == 1:
        return float(r)
    top = r + 40.0 * math.sqrt(r) + 2.0 * math.log(n) + 40.0
    y = np.linspace(0.0, top, GRID_POINTS)
    tail = 1.0 - _gamma_cdf(r, y) ** n
    return float(np.sum((tail[1:] + tail[:-1]) * np.diff(y)) / 2.0)


def rank_jitter_time(mean_delay_s: float | None, plans: Plans) -> np.ndarray:
    """Expected wait per step for the slowest replica (module doc): ``mean_delay_s`` x E[max over the plans' dp
    replicas of the sum of their N / dp ranks' unit exponential stalls]; zero where the stack has none (None)."""
    replicas = np.asarray(plans.dp, dtype=int)
    ranks = np.asarray(plans.tp * plans.pp * plans.cp, dtype=int)
    if mean_delay_s is None:
        return np.zeros(len(replicas))
    pairs, index = np.unique(np.stack([ranks, replicas], axis=1), axis=0, return_inverse=True)
    table = np.array([expected_max_of_sums(int(r), int(n)) for r, n in pairs])
    return mean_delay_s * table[index.reshape(-1)]


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

    def expert_time(kind: str, nbytes: np.ndarray) -> np.ndarray | float:
        # a dense model has no routed experts: a collective of 0 bytes takes 0 s (collectives._ring), and x + 0.0 is x
        return 0.0 if ctx.model.moe is None else experts.expert_dp_time(ctx, plans, kind, nbytes)

    scatter = coll.hierarchical("rs", plans.dp, per_domain, grads, ctx.up, out) + expert_time("rs", expert_grads)
    gather = coll.hierarchical("ag", plans.dp, per_domain, gathered, ctx.up, out) + expert_time("ag", expert_gathered)
    step_end = scatter + gather
    if ctx.stack.dp_chunk_overlap:
        step_end = overlap.dp_chunked(ctx.rates, gather, scatter, plans.vpp, mb["_forward_stage"],
                                      mb["_backward_stage"])
    elif ctx.stack.dp_overlap:
        step_end = ctx.rates.exposed(step_end, mb["_backward_stage"])
    if not np.any(plans.zero_stage >= 3):  # the ZeRO-3 time below would not be read
        return np.where(plans.dp == 1, 0.0, step_end)
    weights, expert_weights = (params - routed) * memory.WEIGHT_BYTES, routed * memory.WEIGHT_BYTES
    gathers = 2 + plans.recompute_weights(ctx.stack.selective_recompute)[0]  # fwd, bwd, recomputed fwd
    zero3_domain = 1 if ctx.stack.zero3_flat_collectives else per_domain
    zero3 = (gathers * coll.hierarchical("ag", plans.dp, zero3_domain, weights, ctx.up, out)
             + coll.hierarchical("rs", plans.dp, zero3_domain, grads, ctx.up, out)
             + gathers * expert_time("ag", expert_weights)
             + expert_time("rs", expert_grads))
    if ctx.stack.zero3_prefetch_overlap:
        zero3 = ctx.rates.exposed(zero3, mb["compute"] + mb["recompute"])
    m = np.maximum(plans.micro_batches, 1)
    return np.where(plans.dp == 1, 0.0, np.where(plans.zero_stage >= 3, m * zero3, step_end))
