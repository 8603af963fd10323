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
WIDTH_GROWTH = 1.25
"""A chunk takes jobs of up to this many times the fewest hours of slack in it (less work on masked starts)."""


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


@dataclass(frozen=True, slots=True)
class Table:
    """Decisions tabled ahead for one bucket: ``rows[(job, time)]`` is a row of the arrays below.

    A row whose ``may_wait`` is False is a decision to start now (under an hour of slack); otherwise the
    decision waits for ``wake_s`` if ``later_min`` beats the least cost now among the pools with room."""

    rows: dict[tuple[int, float], int]
    cost_now: np.ndarray
    """[rows, pools] cost per token of starting now in each of the bucket's pools (NaN where may_wait is False)."""
    later_min: list[float]
    """The least cost per token of a later start on the hour (within the job's slack)."""
    wake_s: list[float]
    """The start that gives it (the first on ties)."""
    may_wait: list[bool]


def slack_hours(deadline_s: np.ndarray, now_s: np.ndarray, work: np.ndarray, min_rate: float,
                runtime_margin: float, max_defer_h: int) -> np.ndarray:
    """Whole hours a job may wait: its slack less ``1 + runtime_margin`` slowest run times, capped."""
    slack = deadline_s - now_s - (1.0 + runtime_margin) * work / min_rate
    return np.minimum(np.maximum(slack, 0.0) // HOUR_S, max_defer_h).astype(np.int64)


def decision_table(clock, settings: Settings, bucket: BucketRates, jobs: np.ndarray, arrival_s: np.ndarray,
                   deadline_s: np.ndarray, work: np.ndarray) -> Table:
    """The decisions of ``jobs`` (indices, with their arrivals, deadlines and work) of one bucket: at each
    job's arrival, then at each start it would wake at if it waited, as long as waiting is possible whatever
    the state (the best later start beats the dearest pool now by ``min_saving``), for at most
    ``settings.max_levels`` decisions. A decision not in the table is made by the one-job path."""
    keys: list[tuple[int, float]] = []
    cost_now, later_min, wake, may_wait = [], [], [], []
    row, now = np.arange(len(jobs)), np.asarray(arrival_s, float)
    for _ in range(settings.max_levels):
        hours = slack_hours(deadline_s[row], now, work[row], bucket.rate.min(), settings.runtime_margin,
                            settings.max_defer_h)
        level = _level(clock, settings.which, bucket, now, work[row], hours)
        keys.extend(zip(jobs[row].tolist(), now.tolist(), strict=True))
        cost_now.append(level[0])
        later_min.extend(level[1].tolist())
        wake.extend(level[2].tolist())
        may_wait.extend((hours >= 1).tolist())
        may = (hours >= 1) & ~(level[1] >= (1.0 - settings.min_saving) * level[0].max(axis=1))  # NaN: may
        row, now = row[may], level[2][may]
        if not row.size:
            break
    return Table(rows=dict(zip(keys, range(len(keys)), strict=True)),
                 cost_now=np.concatenate(cost_now) if cost_now else np.zeros((0, len(bucket.rate))),
                 later_min=later_min, wake_s=wake, may_wait=may_wait)


def _level(clock, which: str, bucket: BucketRates, now_s: np.ndarray, work: np.ndarray,
           hours: np.ndarray) -> tuple[np.ndarray, ...]:
    """Cost now, least later cost and its start for each job (NaN where it has under an hour of slack).

    Jobs are taken in order of their hours of slack, in chunks of similar width (each job's costs do not
    depend on the others', nor on the width of its chunk: starts past its own slack are masked)."""
    n, pools = len(now_s), len(bucket.rate)
    cost_now, later_min, wake = np.full((n, pools), np.nan), np.full(n, np.nan), np.full(n, np.nan)
    todo = np.flatnonzero(hours >= 1)
    todo = todo[np.argsort(hours[todo], kind="stable")]
    sorted_hours = hours[todo]
    first = 0
    while first < todo.size:
        width = int(sorted_hours[first]) + 1
        last = int(np.searchsorted(sorted_hours, int(width * WIDTH_GROWTH) - 1, side="right"))  # similar widths
        width = int(sorted_hours[last - 1]) + 1
        last = min(last, first + max(CHUNK_ELEMENTS // (pools * width), 1))
        part = todo[first:last]
        cost_now[part], later_min[part], wake[part] = _costs(clock, which, bucket, now_s[part], work[part],
                                                             hours[part], width)
        first = last
    return cost_now, later_min, wake


def _costs(clock, which: str, bucket: BucketRates, now_s: np.ndarray, work: np.ndarray, hours: np.ndarray,
           width: int) -> tuple[np.ndarray, ...]:
    """[J, pools, starts] costs per token; returns the cost now, the least later cost and its start."""
    offsets = HOUR_S * np.arange(width)
    starts = now_s[:, None] + offsets[None, :]  # [J, starts]
    run_s = work[:, None] / bucket.rate[None, :]  # [J, pools]
    cost = clock.run_means(which, bucket.site, starts, run_s)
    cost *= bucket.kwh_per_token[None, :, None]  # in place: the products kwh_per_token x mean
    later = cost[:, :, 1:].min(axis=1)  # [J, starts - 1]: the best pool at each later start
    later = np.where(np.arange(1, width)[None, :] <= hours[:, None], later, np.inf)
    best = np.argmin(later, axis=1)
    return cost[:, :, 0], later.min(axis=1), starts[np.arange(len(now_s)), 1 + best]
