"""What a grid-aware policy's deferral decisions need, for many jobs at once.

At a job's arrival (:meth:`flopwatt.fleet.policies.GridAware.defer`) everything but one term is known
before the simulation runs: the job's bucket fixes its rates and power in every pool, its arrival and
deadline fix the hourly starts it may try, and the grid profiles fix each run's mean intensity. Only
*which pools have room now* depends on the fleet's state. So the costs per token of every start in every
pool are evaluated for all flexible jobs of a bucket in one vectorised pass, kept as: the cost of
starting now in each pool, the best later cost and the start that gives it. At the arrival the policy
then takes the least cost now among the pools that fit (or all, if none does) and compares. If it
waits, it wakes at that best start, which is known ahead too: the decisions at the wakes are tabled
the same way, level by level, for the jobs that could wait whatever the state.

Each value is computed by the same element-wise operations as the one-job path (costs of hours past a
job's own slack are masked with +inf, which changes no minimum or first index of a minimum), so the
decisions are the same; tests/test_fleet_speed.py checks tables and runs against the one-job path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HOUR_S = 3600.0
CHUNK_ELEMENTS = 1 << 20
"""Jobs are evaluated in chunks of at most about this many (job, pool, start) costs (memory bound)."""


@dataclass(frozen=True, slots=True)
class Settings:
    """The grid-aware policy's choices that shape a table."""

    which: str
    runtime_margin: float
    max_defer_h: int
    min_saving: float
    max_levels: int = 16
    """Decisions per job tabled ahead (its arrival and up to 15 wakes); later ones take the one-job path."""


@dataclass(frozen=True, slots=True)
class BucketRates:
    """Over the pools one bucket can run in: tokens/s, kWh per token, site index."""

    rate: np.ndarray
    kwh_per_token: np.ndarray
    site: np.ndarray


Entry = tuple[np.ndarray, float, float] | None
"""(cost now per pool, least later cost, its start), or None: the job may not wait (under an hour of slack)."""


def slack_hours(deadline_s: np.ndarray, now_s: np.ndarray, work: np.ndarray, min_rate: float,
                runtime_margin: float, max_defer_h: int) -> np.ndarray:
    """Whole hours a job may wait: its slack less ``1 + runtime_margin`` slowest run times, capped."""
    slack = deadline_s - now_s - (1.0 + runtime_margin) * work / min_rate
    return np.minimum(np.maximum(slack, 0.0) // HOUR_S, max_defer_h).astype(np.int64)


def decision_table(clock, settings: Settings, bucket: BucketRates, jobs: np.ndarray, arrival_s: np.ndarray,
                   deadline_s: np.ndarray, work: np.ndarray) -> dict[tuple[int, float], Entry]:
    """``{(job, time): entry}`` for ``jobs`` (indices, with their arrivals, deadlines and work) of one bucket:
    at each job's arrival, then at each start it would wake at if it waited, as long as waiting is possible
    whatever the state (the best later start beats the dearest pool now by ``min_saving``), for at most
    ``settings.max_levels`` decisions. A decision not in the table is made by the one-job path."""
    table: dict[tuple[int, float], Entry] = {}
    row, now = np.arange(len(jobs)), np.asarray(arrival_s, float)
    for _ in range(settings.max_levels):
        hours = slack_hours(deadline_s[row], now, work[row], bucket.rate.min(), settings.runtime_margin,
                            settings.max_defer_h)
        cost_now, later_min, wake = _level(clock, settings.which, bucket, now, work[row], hours)
        for k, (job, t) in enumerate(zip(jobs[row].tolist(), now.tolist(), strict=True)):
            table[(job, t)] = (cost_now[k], later_min[k], wake[k]) if hours[k] >= 1 else None
        may = (hours >= 1) & ~(later_min >= (1.0 - settings.min_saving) * cost_now.max(axis=1))  # NaN: may
        row, now = row[may], wake[may]
        if not row.size:
            break
    return table


def _level(clock, which: str, bucket: BucketRates, now_s: np.ndarray, work: np.ndarray,
           hours: np.ndarray) -> tuple[np.ndarray, ...]:
    """Cost now, least later cost and its start for each job (NaN where it has under an hour of slack)."""
    n, pools = len(now_s), len(bucket.rate)
    cost_now, later_min, wake = np.full((n, pools), np.nan), np.full(n, np.nan), np.full(n, np.nan)
    todo = np.flatnonzero(hours >= 1)
    if todo.size:
        width = int(hours[todo].max()) + 1
        step = max(CHUNK_ELEMENTS // (pools * width), 1)
        for first in range(0, todo.size, step):
            part = todo[first:first + step]
            cost_now[part], later_min[part], wake[part] = _costs(clock, which, bucket, now_s[part], work[part],
                                                                 hours[part], width)
    return cost_now, later_min, wake


def _costs(clock, which: str, bucket: BucketRates, now_s: np.ndarray, work: np.ndarray, hours: np.ndarray,
           width: int) -> tuple[np.ndarray, ...]:
    """[J, pools, starts] costs per token; returns the cost now, the least later cost and its start."""
    offsets = HOUR_S * np.arange(width)
    starts = now_s[:, None] + offsets[None, :]  # [J, starts]
    run_s = work[:, None] / bucket.rate[None, :]  # [J, pools]
    mean = clock.spans(which, bucket.site[None, :, None], starts[:, None, :],
                       starts[:, None, :] + run_s[:, :, None])
    cost = bucket.kwh_per_token[None, :, None] * mean
    later = cost[:, :, 1:].min(axis=1)  # [J, starts - 1]: the best pool at each later start
    later = np.where(np.arange(1, width)[None, :] <= hours[:, None], later, np.inf)
    best = np.argmin(later, axis=1)
    return cost[:, :, 0], later.min(axis=1), starts[np.arange(len(now_s)), 1 + best]
