"""The one grid of shapes that holds every shape any of several stacks allows, for :mod:`flopwatt.perf.shape_grid`.

Its knob options are the union of the stacks' (``space.shape_axes``, in :data:`AXES` order), kept under the
stack-free layout rules (``space.layout_rules``); each shape is a layout, a micro-batch and a sequence-parallel
choice, and points to its shard (tp, cp, micro-batch, ep, sequence parallel): the distinct shards, whose layer
times ``bounds.shard_times`` computes once for all the shapes that share one (:func:`union_grid`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flopwatt.perf import space
from flopwatt.perf.plans import Plans
from flopwatt.perf.space import PlanRequest

AXES = ("tp", "pp", "cp", "micro_batch", "vpp", "sequence_parallel", "ep")
"""The order of ``space.shape_axes``."""


@dataclass(frozen=True)
class UnionGrid:
    """Every shape of the stacks' supersets: per shape, its layout, micro-batch and sequence-parallel indices
    into the union options, its knob values, and its shard (an index into ``shards``)."""

    options: tuple[np.ndarray, ...]
    """Union of the stacks' options per knob, in ``AXES`` order."""
    layout: tuple[np.ndarray, ...]
    """Per layout: its option index on the tp, pp, cp, vpp and ep axes."""
    shape_layout: np.ndarray
    shape_mb: np.ndarray
    shape_sp: np.ndarray
    shape_shard: np.ndarray
    shards: Plans
    pp: np.ndarray
    vpp: np.ndarray
    micro_batch: np.ndarray
    replica: np.ndarray
    """dp x micro-batch per shape."""


def union_grid(request: PlanRequest, options: tuple[np.ndarray, ...]) -> UnionGrid:
    """The grid of the union ``options`` (per knob, sorted, in ``AXES`` order) on ``request`` (module doc)."""
    tp, pp, cp, mb, vpp, sp, ep = options
    index = np.meshgrid(*(np.arange(len(a)) for a in (tp, pp, cp, vpp, ep)), indexing="ij")
    i_tp, i_pp, i_cp, i_vpp, i_ep = (i.ravel() for i in index)
    keep = space.layout_rules(request, tp[i_tp], pp[i_pp], cp[i_cp], vpp[i_vpp], ep[i_ep])
    layout = tuple(i[keep] for i in (i_tp, i_pp, i_cp, i_vpp, i_ep))
    li, mi, si = (g.ravel() for g in np.meshgrid(np.arange(len(layout[0])), np.arange(len(mb)), np.arange(len(sp)),
                                                 indexing="ij"))
    keep = ~sp[si] | (tp[layout[0][li]] > 1)  # sequence parallelism needs tensor parallelism (as shape_superset)
    li, mi, si = li[keep], mi[keep], si[keep]
    # a shard's (tp, cp, micro-batch, ep, sp) option indices as one mixed-radix number: the options are sorted, so
    # the numbers' order is that of bounds.shard_key's (the values in the same field order)
    radix = (len(cp), len(mb), len(ep), len(sp))
    code = ((((layout[0] * radix[0] + layout[2])[li] * radix[1] + mi) * radix[2] + layout[4][li]) * radix[3] + si)
    present = np.zeros(len(tp) * int(np.prod(radix)), dtype=bool)
    present[code] = True
    codes = np.flatnonzero(present)
    rest, s_sp = np.divmod(codes, radix[3])
    rest, s_ep = np.divmod(rest, radix[2])
    rest, s_mb = np.divmod(rest, radix[1])
    s_tp, s_cp = np.divmod(rest, radix[0])
    shards = Plans.build(tp=tp[s_tp], pp=1, dp=1, cp=cp[s_cp], ep=ep[s_ep], vpp=1, micro_batch=mb[s_mb],
                         global_batch=1, zero_stage=0, recompute="none", sequence_parallel=sp[s_sp],
                         recompute_layers=1.0)
    layout_dp = request.devices // (tp[layout[0]] * pp[layout[1]] * cp[layout[2]])
    micro_batch = mb[mi]
    return UnionGrid(options=options, layout=layout, shape_layout=li, shape_mb=mi, shape_sp=si,
                     shape_shard=(np.cumsum(present) - 1)[code], shards=shards, pp=pp[layout[1]][li],
                     vpp=vpp[layout[3]][li], micro_batch=micro_batch, replica=layout_dp[li] * micro_batch)


def option_member(union: np.ndarray, own: np.ndarray) -> np.ndarray:
    """Which of the grid's options of one knob are among a stack's."""
    return (union[:, None] == own[None, :]).any(axis=1)
