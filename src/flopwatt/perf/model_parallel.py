"""Tensor-parallel and pipeline communication of one micro-batch (used by :mod:`flopwatt.perf.training`).

``ctx`` is the training context (perf/training.py ``_context``): the scale-up and scale-out tiers, the system,
the stack, and on a TPU the ICI torus and slice (whose layout is :mod:`flopwatt.perf.ici_layout`).

Collective matmul (:func:`collective_matmul_exposed`): XLA's SPMD partitioner on TPU rewrites an einsum whose
operand needs an AllGather (or whose result needs a ReduceScatter) over a mesh axis into a loop of p steps,
each multiplying one 1/p window while a collective-permute moves the next window to the ring neighbour (the
"windowed einsum"; Wang et al. 2023, ASPLOS, doi:10.1145/3567955.3567959; jax-ml/scaling-book@0819a7d
jax-stuff.md "Collective Matmul" and training.md, where TP time is max(T_math, T_comms)). It is on by default
above a size threshold: MaxText turns it off with --xla_jf_spmd_threshold_for_windowed_einsum_mib=1000000
(AI-Hypercomputer/maxtext@e591f30 benchmarks/xla_flags_library.py DISABLE_COLLECTIVE_MATMUL). Two pipelined
stages of p chunks take max(A, B) + min(A, B) / p, so a collective c beside its matmul m adds
max(c - m, 0) + min(c, m) / p (:func:`pipelined_exposed`, with the device's overlap slowdown where it has one).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from flopwatt.perf import collectives as coll
from flopwatt.perf import ici_layout
from flopwatt.perf.compute import DeviceRates
from flopwatt.perf.plans import Plans
from flopwatt.specs import ModelSpec, StackProfile


def tp_tier_time(ctx, plans: Plans, nbytes: np.ndarray) -> np.ndarray:
    """One TP AllReduce (or AllGather + ReduceScatter under sequence parallelism) of ``nbytes``."""
    domain = ctx.system.scale_up_domain_devices
    inside = plans.tp <= domain
    out = ctx.out_for(np.ceil(plans.tp / domain))
    flat = np.where(inside, coll.all_reduce(plans.tp, nbytes, ctx.up), coll.all_reduce(plans.tp, nbytes, out))
    if ctx.torus is None:
        return flat
    on_torus = plans.tp <= ctx.slice_chips  # per plan: a plan's time never depends on the others in its batch
    clipped = dataclasses.replace(plans, tp=np.minimum(plans.tp, ctx.slice_chips))
    return np.where(on_torus, ici_layout.tp_time(ctx, clipped, nbytes), flat)


def p2p_time(ctx, plans: Plans, msg: np.ndarray) -> np.ndarray:
    """Pipeline transfers per micro-batch on the critical path: activation forward and gradient backward at
    each of v boundaries; Megatron pairs each send with the opposite receive, DeepSpeed blocks on each."""
    split = ctx.stack.scatter_gather_p2p | plans.sequence_parallel
    nbytes = np.where(split, msg / plans.tp, msg)
    inside = plans.tp * plans.pp <= ctx.system.scale_up_domain_devices
    one = np.where(inside, coll.p2p(nbytes, ctx.up), coll.p2p(nbytes, ctx.out_for(np.full(len(plans), 2.0))))
    transfers = 4 if ctx.stack.blocking_p2p else 2  # activation + gradient, each a send and a receive
    return np.where(plans.pp > 1, transfers * plans.vpp * one, 0.0)


def projection_shares(model: ModelSpec, parallel_block: bool) -> tuple[float, ...]:
    """Share of a dense layer's linear FLOPs in the matmul each TP collective of a forward pass feeds or follows:
    AllGather -> QKV, output projection -> ReduceScatter, AllGather -> MLP in (gate and up), MLP out ->
    ReduceScatter. The parallel block (one AllGather and one ReduceScatter, overlap.tp_collectives_per_pass)
    pairs its AllGather with QKV + MLP in and its ReduceScatter with both output matmuls."""
    h, a, kv, f = model.hidden, model.attention_width, model.kv_width, model.ffn_hidden
    qkv, out = h * a + 2 * h * kv, h * a
    mlp_in, mlp_out = (model.mlp_matrices - 1) * h * f, h * f
    total = qkv + out + mlp_in + mlp_out
    if parallel_block:
        return (qkv + mlp_in) / total, (out + mlp_out) / total
    return qkv / total, out / total, mlp_in / total, mlp_out / total


def pipelined_exposed(rates: DeviceRates, comm: np.ndarray, matmul: np.ndarray, chunks: np.ndarray) -> np.ndarray:
    """Time a collective adds when split into p = ``chunks`` pieces pipelined with its matmul: the first piece
    of the transfer runs alone (c / p), the other p - 1 run beside matmul pieces (``rates.exposed``, with the
    device's overlap slowdown). Without slowdown this is max(c - m, 0) + min(c, m) / p; p = 1 exposes all of c."""
    comm, matmul = np.asarray(comm, dtype=float), np.asarray(matmul, dtype=float)
    p = np.maximum(np.asarray(chunks, dtype=float), 1.0)
    overlapped = (p - 1) / p
    t = comm / p + rates.exposed(overlapped * comm, overlapped * matmul)
    return np.where(comm > 0, t, 0.0)


def collective_matmul_exposed(stack: StackProfile, rates: DeviceRates, model: ModelSpec, plans: Plans,
                              collectives: np.ndarray, linear_forward: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exposed TP time of one layer under collective matmul: (forward pass, backward pass). ``collectives`` is the
    forward pass's TP time without overlap (AllGathers + ReduceScatters, each an equal share) and
    ``linear_forward`` the layer's linear (GEMM) forward time. In the backward pass each collective's transpose
    runs beside its matmul's input- and weight-gradient GEMMs (twice the forward FLOPs)."""
    shares = projection_shares(model, stack.parallel_block)
    each = np.asarray(collectives, dtype=float) / len(shares)
    forward = sum(pipelined_exposed(rates, each, s * linear_forward, plans.tp) for s in shares)
    backward = sum(pipelined_exposed(rates, each, 2 * s * linear_forward, plans.tp) for s in shares)
    return forward, backward
