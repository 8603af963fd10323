"""What a grid-aware policy's deferral decision needs at a job's arrival, for many jobs at once.

At a job's arrival (:meth:`flopwatt.fleet.policies.GridAware.defer`) everything but one term is known
before the simulation runs: the job's bucket fixes its rates and power in every pool, its arrival and
deadline fix the hourly starts it may try, and the grid profiles fix each run's mean intensity. Only
*which pools have room now* depends on the fleet's state. So the costs per token of every start in every
pool are evaluated for all flexible jobs of a bucket in one vectorised pass, kept as: the cost of
starting now in each pool, the best later cost and the start that gives it. At the arrival the policy
then takes the least cost now among the pools that fit (or all, if none does) and compares.

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


@dataclass(frozen=True, slots=True)
class BucketRates:
    """Over the pools one bucket can run in: tokens/s, kWh per token, site index."""

    rate: np.ndarray
    kwh_per_token: np.ndarray
    site: np.ndarray


@dataclass(frozen=True, slots=True)
class ArrivalTable:
    """Per job of one bucket (``row[job]``): its arrival, and the decision inputs there (hours < 1: none)."""

    row: dict[int, int]
    arrival_s: np.ndarray
    hours: np.ndarray
    cost_now: np.ndarray
    """[J, pools] cost per token of starting at arrival in each pool the bucket can run in."""
    later_min: np.ndarray
    """[J] least cost per token of a start 1 .. hours hours later, in any pool."""
    wake_s: np.ndarray
    """[J] the first start that gives ``later_min``."""


def slack_hours(deadline_s: np.ndarray, now_s: np.ndarray, work: np.ndarray, min_rate: float,
                runtime_margin: float, max_defer_h: int) -> np.ndarray:
    """Whole hours a job may wait: its slack less ``1 + runtime_margin`` slowest run times, capped."""
    slack = deadline_s - now_s - (1.0 + runtime_margin) * work / min_rate
    return np.minimum(np.maximum(slack, 0.0) // HOUR_S, max_defer_h).astype(np.int64)


def arrival_table(clock, settings: Settings, bucket: BucketRates, jobs: np.ndarray, arrival_s: np.ndarray,
                  deadline_s: np.ndarray, work: np.ndarray) -> ArrivalTable:
    """The table for ``jobs`` (indices, with their arrivals, deadlines and work) of one bucket."""
    hours = slack_hours(deadline_s, arrival_s, work, bucket.rate.min(), settings.runtime_margin,
                        settings.max_defer_h)
    n, pools = len(jobs), len(bucket.rate)
    cost_now, later_min, wake = np.full((n, pools), np.nan), np.full(n, np.nan), np.full(n, np.nan)
    todo = np.flatnonzero(hours >= 1)
    if todo.size:
        width = int(hours[todo].max()) + 1
        step = max(CHUNK_ELEMENTS // (pools * width), 1)
        for first in range(0, todo.size, step):
            part = todo[first:first + step]
            cost_now[part], later_min[part], wake[part] = _costs(
                clock, settings.which, bucket, arrival_s[part], work[part], hours[part], width)
    return ArrivalTable(row={int(j): k for k, j in enumerate(jobs.tolist())}, arrival_s=arrival_s, hours=hours,
                        cost_now=cost_now, later_min=later_min, wake_s=wake)


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
