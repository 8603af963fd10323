"""Pareto fronts (all objectives minimised) over large arrays, vectorised.

A point is on the front if no other point is at least as good in every objective and strictly
better in one. The rows are sorted lexicographically (first objective first) and duplicates are
kept once, so a row can only be dominated by an earlier row, and - dominance being transitive -
by an earlier row that is itself on the front (the sort-filter skyline of Chomicki et al. 2003).
The sorted rows are then streamed in blocks: each block is tested against the running front, and
its few survivors against each other. Large inputs are first thinned against a few pivot points
(the best of each objective and of normalised sums), which removes most dominated points in
O(n x pivots). Memory stays bounded by ``PAIRS`` comparisons per step.
"""

from __future__ import annotations

import numpy as np

PAIRS = 1 << 21
"""At most this many (candidate, front row) pairs are compared at once (bounds memory per step)."""
FIRST_BLOCK = 64
MAX_BLOCK = 2048
"""Bounds the quadratic within-block test (a block's survivors against each other)."""
PIVOT_THINNING_ABOVE = 4096
PIVOT_SUMS = 16


def _weakly_dominated(candidates: np.ndarray, front: np.ndarray) -> np.ndarray:
    """Mask of ``candidates`` rows that some row of ``front`` is <= in every objective.

    On distinct rows (after de-duplication) <= in every objective means dominance: the rows differ
    somewhere, so one objective is strictly smaller. One pass per objective over a 2-D mask is
    several times faster than reducing a 3-D (candidate, front, objective) array.
    """
    if len(front) == 0 or len(candidates) == 0:
        return np.zeros(len(candidates), dtype=bool)
    out = np.zeros(len(candidates), dtype=bool)
    step = max(PAIRS // len(front), 1)
    for start in range(0, len(candidates), step):
        c = candidates[start:start + step]
        le = front[None, :, 0] <= c[:, None, 0]
        for j in range(1, front.shape[1]):
            le &= front[None, :, j] <= c[:, None, j]
        out[start:start + step] = le.any(axis=1)
    return out


def _within_sorted(block: np.ndarray) -> np.ndarray:
    """Mask of rows of a lexicographically sorted, duplicate-free block dominated by an earlier row."""
    le = block[None, :, 0] <= block[:, None, 0]
    for j in range(1, block.shape[1]):
        le &= block[None, :, j] <= block[:, None, j]
    return np.tril(le, k=-1).any(axis=1)


def _pivots(points: np.ndarray) -> np.ndarray:
    """Indices of a few strong points: per-objective minima and the best normalised sums."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    with np.errstate(invalid="ignore", over="ignore"):
        norm = (points - lo) / np.where(hi > lo, hi - lo, 1.0)
    picks = [np.argmin(points[:, j]) for j in range(points.shape[1])]
    scores = np.nan_to_num(norm.sum(axis=1), nan=np.inf)
    picks += list(np.argpartition(scores, min(PIVOT_SUMS, len(scores) - 1))[:PIVOT_SUMS])
    return np.unique(np.asarray(picks))


def _distinct_sorted(points: np.ndarray) -> np.ndarray:
    """Row indices in lexicographic order (first objective first), the first of equal rows only."""
    order = np.lexsort(points.T[::-1])
    s = points[order]
    keep = np.ones(len(order), dtype=bool)
    keep[1:] = np.any(s[1:] != s[:-1], axis=1)  # equal rows are adjacent; the stable sort puts the first first
    return order[keep]


def _next_block(block: int, survivors: float, front: int) -> int:
    """Many survivors make the quadratic within-block test dear: shrink; few: grow (memory-bounded)."""
    if survivors > 0.25:
        return max(32, block // 2)
    return max(32, min(2 * block, MAX_BLOCK, PAIRS // max(front, 1)))


def front_indices(points: np.ndarray) -> np.ndarray:
    """Indices of the non-dominated rows of ``points`` (n x k), in lexicographic order of the rows.

    Of equal rows only the first (lowest index) is returned.
    """
    points = np.asarray(points, dtype=float)
    if len(points) == 0:
        return np.zeros(0, dtype=np.int64)
    order = _distinct_sorted(points)
    if len(order) > PIVOT_THINNING_ABOVE:
        rows = points[order]
        pivots = _pivots(rows)
        dominated = _weakly_dominated(rows, rows[pivots])
        dominated[pivots] = False  # a pivot is <= itself
        order = order[~dominated]
    rows = np.ascontiguousarray(points[order])
    kept: list[np.ndarray] = []
    front = rows[:0]
    block, start = FIRST_BLOCK, 0
    while start < len(rows):
        stop = min(start + block, len(rows))
        candidates = np.arange(start, stop)
        candidates = candidates[~_weakly_dominated(rows[candidates], front)]
        if len(candidates):
            candidates = candidates[~_within_sorted(rows[candidates])]
            kept.append(candidates)
            front = np.concatenate([front, rows[candidates]])
        block, start = _next_block(block, len(candidates) / (stop - start), len(front)), stop
    return order[np.concatenate(kept)] if kept else np.zeros(0, dtype=np.int64)
