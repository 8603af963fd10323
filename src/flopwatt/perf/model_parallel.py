"""Tensor-parallel and pipeline communication of one micro-batch (used by :mod:`flopwatt.perf.training`).

``ctx`` is the training context (perf/training.py ``_context``): the scale-up and scale-out tiers, the system,
the stack, and on a TPU the ICI torus and slice (whose layout is :mod:`flopwatt.perf.ici_layout`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from flopwatt.perf import collectives as coll
from flopwatt.perf import ici_layout
from flopwatt.perf.plans import Plans


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
