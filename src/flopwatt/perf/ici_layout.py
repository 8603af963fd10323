"""Tensor-parallel and data-parallel collectives of XLA's layout on a TPU ICI torus (used by perf/training.py).

Layout (MaxText MaxText/configs/base.yml: mesh axes data, fsdp, ..., tensor; ici_fsdp_parallelism = -1,
dcn_data_parallelism = -1, dcn_fsdp_parallelism = 1): inside one ICI slice the tensor-parallel group is the
innermost mesh axis and the FSDP (ZeRO-3) group the rest of the slice; across slices, over the data-center
network, the model is replicated (plain data parallel). So the weights are gathered and the gradients
reduce-scattered over ICI only, and once per step each chip all-reduces its 1/fsdp gradient shard with its peers
in the other slices over DCN. Placement on the torus: :func:`flopwatt.perf.collectives.torus_placement`.

A slice is the whole job up to the largest slice of the generation (``max_slice_chips`` in ici.toml) and the
system's scale-up domain; a published multi-slice run smaller than that is modelled as one slice (the row
schema does not carry the slice size).

:func:`tp_time` is one TP collective with nothing beside it; where the stack sets ``tp_collective_matmul``
(MaxText: XLA's windowed einsum on TPU), perf/model_parallel.py charges only what outlasts its matmul.
"""

from __future__ import annotations

import numpy as np

from flopwatt.catalog.ici import Torus
from flopwatt.perf import collectives as coll
from flopwatt.perf import memory
from flopwatt.perf.plans import Plans


def slice_chips(torus: Torus, devices: int, domain: int) -> int:
    """Chips of one ICI slice of a job on ``devices`` chips."""
    return max(1, min(int(devices), torus.max_slice_chips, int(domain)))


def fsdp_size(plans: Plans, chips: int) -> np.ndarray:
    """Data-parallel ranks inside one slice (the FSDP group): what the slice holds beside the other axes."""
    others = plans.tp * plans.pp * plans.cp
    return np.clip(chips // np.maximum(others, 1), 1, plans.dp).astype(int)


def placements(torus: Torus, plans: Plans, chips: int) -> dict[str, np.ndarray]:
    """Per plan: tensor-parallel and FSDP extents and wraparounds (N, axes) on the slice."""
    fsdp = fsdp_size(plans, chips)
    keys = np.stack([plans.tp.astype(int), fsdp], axis=1)
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    found = [coll.torus_placement(torus, int(tp * f), int(tp)) for tp, f in unique]
    out = {name: np.array([f[i] for f in found])[np.ravel(inverse)]
           for i, name in enumerate(("tp_extents", "tp_wraps", "fsdp_extents", "fsdp_wraps"))}
    out["fsdp"] = fsdp
    return out


def tp_time(ctx, plans: Plans, nbytes: np.ndarray) -> np.ndarray:
    """One tensor-parallel AllReduce (or AllGather + ReduceScatter) of ``nbytes`` on the TP group's torus axes."""
    where = placements(ctx.torus, plans, ctx.slice_chips)
    return coll.torus_all_reduce(where["tp_extents"], where["tp_wraps"], nbytes, ctx.up, ctx.torus)


def dp_time(ctx, plans: Plans, params: np.ndarray, mb: dict[str, np.ndarray]) -> np.ndarray:
    """Exposed data-parallel communication per step: FSDP (ZeRO-3) gathers and reduce-scatters over the slice's
    ICI per micro-batch, or a ZeRO-0..2 ReduceScatter + AllGather over ICI; in both, the cross-slice AllReduce of
    each chip's 1/fsdp gradient shard over DCN (hidden behind the last backward pass where the stack overlaps)."""
    where = placements(ctx.torus, plans, ctx.slice_chips)
    ext, wraps, fsdp = where["fsdp_extents"], where["fsdp_wraps"], where["fsdp"]
    grads = params * memory.GRAD_BYTES
    weights = params * memory.WEIGHT_BYTES
    slices = np.maximum(plans.dp / fsdp, 1.0)
    nodes = np.ceil(slices * ctx.slice_chips / ctx.system.devices_per_node)
    across = coll.all_reduce(slices, grads / fsdp, ctx.out_for(nodes))
    if ctx.stack.dp_overlap:
        across = ctx.rates.exposed(across, mb["_backward_stage"])
    gathers = 2 + plans.recompute_weights(ctx.stack.selective_recompute)[0]  # fwd, bwd, recomputed fwd
    zero3 = (gathers * coll.torus_gather(ext, wraps, weights, ctx.up, ctx.torus)
             + coll.torus_gather(ext, wraps, grads, ctx.up, ctx.torus))
    if ctx.stack.zero3_prefetch_overlap:
        zero3 = ctx.rates.exposed(zero3, mb["compute"] + mb["recompute"])
    replicated = 2 * coll.torus_gather(ext, wraps, grads, ctx.up, ctx.torus)
    if ctx.stack.dp_overlap:
        replicated = ctx.rates.exposed(replicated, mb["_backward_stage"])
    m = np.maximum(plans.micro_batches, 1)
    inside = np.where(plans.zero_stage >= 3, m * zero3, replicated)
    return np.where(plans.dp == 1, 0.0, inside + np.where(slices > 1, across, 0.0))


def dp_traffic(ctx, plans: Plans, params: np.ndarray, passes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Data-parallel bytes one chip moves per step: (over ICI, over DCN). ``passes`` gathers/scatters of the
    gradient-sized buffer inside the slice (ring: (p-1)/p of it each); one AllReduce of the 1/fsdp shard across
    slices (2 (s-1)/s of it)."""
    fsdp = fsdp_size(plans, ctx.slice_chips).astype(float)
    slices = np.maximum(plans.dp / fsdp, 1.0)
    grads = params * memory.GRAD_BYTES
    return passes * (fsdp - 1) / fsdp * grads, 2 * (slices - 1) / slices * grads / fsdp
