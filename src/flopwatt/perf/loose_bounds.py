"""Looser shape bounds of a stack from a shared grid (:meth:`flopwatt.perf.shape_grid.StackGrid.grid_bounds`).

:class:`LooseBounds` bounds every shape of the grid with one stack's terms: the grid holds all of the stack's
shapes, so its least bound at a global batch is at most the stack's own, and it costs one computation per group of
stacks whose terms read alike. :func:`loose_least` takes the least bounds of many stacks at one batch together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flopwatt.perf import bounds, space
from flopwatt.perf.bounds import ShapeBounds


@dataclass(frozen=True, slots=True)
class LooseBounds:
    """A stack's bound from the whole grid: the grid holds the stack's shapes, so the least over the grid's shapes
    of a batch is at most the least over the stack's own (a lower bound of every plan's step time, if a looser
    one). Where the stack has no shape of the batch, -inf, as ``ShapeBounds.least`` (its space is empty: never
    settled by a bound)."""

    terms: ShapeBounds
    """Every shape of the grid, with the stack's terms (shared by the stacks of a group; its replica and
    micro-batch arrays are the grid's, shared by every group)."""
    rows: np.ndarray
    """The stack's own shapes among the grid's, for whether it has a shape of a batch."""

    def least(self, global_batch: int) -> float:
        """The least bound at ``global_batch``."""
        return loose_least([self], global_batch)[0]


def loose_least(loose: list[LooseBounds], global_batch: int) -> list[float]:
    """``[b.least(global_batch) for b in loose]``: one batch mask per grid, and the least of each distinct terms
    object in one stacked operation per grid (``ShapeBounds.least``'s arithmetic, element by element)."""
    out = [-np.inf] * len(loose)
    grids: dict[tuple, list[int]] = {}
    for i, b in enumerate(loose):
        terms = b.terms
        grids.setdefault((id(terms.replica), id(terms.micro_batch), terms.straggler_penalty,
                          terms.open_micro_batch), []).append(i)
    for members in grids.values():
        first = loose[members[0]].terms
        keep = space.batch_mask(first.replica, first.micro_batch, global_batch, first.open_micro_batch)
        has: dict[int, bool] = {}  # per distinct rows (stacks of the same options and split share them)
        for i in members:
            rows = loose[i].rows
            if id(rows) not in has:
                has[id(rows)] = bool(keep[rows].any())
        present = [i for i in members if has[id(loose[i].rows)]]
        if not present:
            continue
        distinct = {id(loose[i].terms): loose[i].terms for i in present}
        least = dict(zip(distinct, _stacked_least(list(distinct.values()), np.flatnonzero(keep), global_batch),
                         strict=True))
        for i in present:
            out[i] = least[id(loose[i].terms)]
    return out


def _stacked_least(terms: list[ShapeBounds], keep: np.ndarray, global_batch: int) -> list[float]:
    """``ShapeBounds.least`` of each of ``terms`` (one grid's: the same replica and micro-batch arrays) over the
    shapes ``keep`` of ``global_batch`` (non-empty): a matrix of terms x shapes, its row minima."""
    first = terms[0]
    micro_batches = (global_batch // first.replica[keep]).astype(float)
    bubble = np.stack([np.broadcast_to(t.bubble, np.shape(t.stage))[keep] for t in terms])
    stage = np.stack([np.asarray(t.stage)[keep] for t in terms])
    values = bounds._combine(micro_batches, bubble, stage, first.straggler_penalty)
    return [float(v) for v in np.min(values, axis=1)]
