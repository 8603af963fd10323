"""Reference Pareto front for the tests: flopwatt.search.pareto as it was before issue 22 (slow, simple).

Kept unchanged apart from the name so that the optimised front can be compared against it.

A point is on the front if no other point is at least as good in every objective and strictly
better in one. Large inputs are first thinned against a few pivot points (the best of each
objective and of equal-weight sums of the ranks), which removes most dominated points in
O(n x pivots); the survivors go through an exact block-wise pass.
"""

from __future__ import annotations

import numpy as np

BLOCK = 2048


def _dominated_by(candidates: np.ndarray, front: np.ndarray) -> np.ndarray:
    """Mask of ``candidates`` rows dominated by any row of ``front``."""
    if len(front) == 0 or len(candidates) == 0:
        return np.zeros(len(candidates), dtype=bool)
    out = np.zeros(len(candidates), dtype=bool)
    for start in range(0, len(candidates), BLOCK):
        c = candidates[start:start + BLOCK, None, :]
        le = np.all(front[None, :, :] <= c, axis=2)
        lt = np.any(front[None, :, :] < c, axis=2)
        out[start:start + BLOCK] = np.any(le & lt, axis=1)
    return out


def _pivots(points: np.ndarray) -> np.ndarray:
    """Indices of a few strong points: per-objective minima and the best normalised sums."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    norm = (points - lo) / np.where(hi > lo, hi - lo, 1.0)
    picks = [np.argmin(points[:, j]) for j in range(points.shape[1])]
    scores = norm.sum(axis=1)
    picks += list(np.argpartition(scores, min(16, len(scores) - 1))[:16])
    return np.unique(np.asarray(picks))


def reference_front_indices(points: np.ndarray) -> np.ndarray:
    """Indices of the non-dominated rows of ``points`` (n x k), ascending by the first objective."""
    points = np.asarray(points, dtype=float)
    if len(points) == 0:
        return np.zeros(0, dtype=np.int64)
    # duplicates of a point are kept once (the first)
    _, first = np.unique(points, axis=0, return_index=True)
    idx = np.sort(first)
    if len(idx) > 4 * BLOCK:
        idx = idx[~_dominated_by(points[idx], points[idx][_pivots(points[idx])])]
    order = idx[np.lexsort(points[idx].T[::-1])]
    kept: list[int] = []
    for start in range(0, len(order), BLOCK):
        block = order[start:start + BLOCK]
        block = block[~_dominated_by(points[block], points[kept])] if kept else block
        # within the block, sorted lexicographically: a row can only be dominated by earlier rows
        sub = points[block]
        le = np.all(sub[None, :, :] <= sub[:, None, :], axis=2)
        lt = np.any(sub[None, :, :] < sub[:, None, :], axis=2)
        dominated = np.any(np.tril(le & lt, k=-1), axis=1)
        kept.extend(block[~dominated].tolist())
    return np.asarray(kept, dtype=np.int64)
