"""Scheduling policies behind one interface, and the view of the fleet they decide on.

A policy answers three questions, each from a :class:`FleetView` (arrays, never per-job objects):

- ``defer(view, job, bucket)``: when should a newly submitted job become ready? (now, or later to wait for
  cleaner or cheaper hours within its deadline);
- ``pick(view)``: which waiting job (a bucket head, :mod:`flopwatt.fleet.queue`) goes to which pool
  now? ``None`` = no more placements at this instant. The simulator calls it until it says ``None``;
- ``service_order(view, rates)``: in which order of pools should an inference service's replicas be
  placed?

Built in: ``fifo`` (first come, first pool in the config that fits: heterogeneity-blind),
``max-throughput`` (Gavel-like: each pool goes to the job with the largest normalised throughput
there), ``carbon-aware`` and ``price-aware`` (shift flexible jobs within their deadlines to the hours
and sites with the lowest gCO2e or $ per token), ``latency-aware`` (serve near the users, train away
from them). A user's own policy subclasses :class:`Policy` and is passed to
:func:`flopwatt.fleet.simulate.simulate`, or named ``module:Class`` on the command line.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from flopwatt.errors import InputError
from flopwatt.fleet import deferral
from flopwatt.fleet.queue import BucketQueue

HOUR_S = 3600.0


@dataclass(slots=True)
class FleetView:
    """What a policy sees. Arrays over buckets (B) and pools (P); the simulator keeps them current."""

    now_s: float
    free: np.ndarray
    """Free devices per pool (not all of them may fit a job: see ``nodes``)."""
    nodes: Any
    """The :class:`flopwatt.fleet.nodes.PoolNodes` of the fleet: which sizes fit where."""
    pool_devices: np.ndarray
    pool_site: np.ndarray
    """Site index of each pool."""
    pue: np.ndarray
    """PUE of each pool's site and cooling."""
    near_users: np.ndarray
    """True where a pool can serve some service's users within its TTFT target."""
    queue: BucketQueue
    rate: np.ndarray
    """[B, P] tokens/s of a bucket's job on its fewest devices in each pool (0 = cannot run there)."""
    power_w: np.ndarray
    """[B, P] IT power of that job (W)."""
    equal_share_rate: np.ndarray
    """[B] the job's rate averaged over the fleet's devices (what a type-blind placement gives it)."""
    jobs: Any
    """The :class:`flopwatt.fleet.jobs.JobTable`."""
    grid_mean: Any
    """``grid_mean(which, site_index, start_s, end_s)``: mean 'carbon' (g/kWh) or 'price' ($/kWh)."""

    def fits(self) -> np.ndarray:
        """[B, P]: the bucket has a waiting job whose fewest devices fit the pool's free nodes, and can run there."""
        q = self.queue
        runnable = self.nodes.fits_runnable(q.demand)  # kept current by the nodes while the simulator runs
        if runnable is None:
            runnable = self.nodes.fits(q.demand) & (self.rate > 0)
        return runnable & q.nonempty


class Policy:
    """FIFO first-fit: the earliest ready job that fits anywhere, in the first pool (config order) it fits.

    Blind to heterogeneity: every device is a device. Services fill pools in config order.
    """

    name = "fifo"

    def defer(self, view: FleetView, job: int, b: int) -> float:
        """When job ``job`` (of bucket ``b``), submitted now, becomes ready to run."""
        return view.now_s

    def pick(self, view: FleetView) -> tuple[int, int] | None:
        if view.queue.waiting == 0:
            return None
        fits = view.nodes.fits_runnable(view.queue.demand)  # the table the nodes keep current, if they keep one
        if fits is None:
            fits = view.fits()
            rows = np.logical_or.reduce(fits, axis=1)
        else:
            rows = view.nodes.runnable_rows()
        # the earliest head among the buckets with a fit; an empty bucket's head is at inf, so it never wins
        ready = np.where(rows, view.queue.head_ready_s, np.inf)
        b = int(ready.argmin())
        if ready[b] == np.inf:
            return None
        return b, self.pool_for(view, b, fits[b])  # read-only, current during the call

    def pool_for(self, view: FleetView, b: int, fitting: np.ndarray) -> int:
        """The pool for bucket ``b``'s head among ``fitting`` ([P], read-only, valid during the call)."""
        return int(np.argmax(fitting))

    def service_order(self, view: FleetView, rates: Any) -> np.ndarray:
        return _per_rates(self, rates, lambda: np.flatnonzero(rates.tokens_per_s_per_node > 0))


class MaxThroughput(Policy):
    """Heterogeneity-aware: maximise the sum of normalised throughputs (Gavel, Narayanan et al. OSDI'20,
    Sec. 4.1, 'max-sum-throughput'), greedily at each instant.

    A job's throughput in a pool is normalised by what an equal share of the fleet gives it, so jobs
    of different sizes and models compare; each free pool goes to the job with the largest ratio
    there (comparative advantage: the model that gains most on the fast devices gets them), and each
    job to the pool where its ratio is largest. Waiting raises a job's score by 1 per
    ``aging_s`` waited, so no job starves behind a stream of better-suited arrivals. The greedy
    instant-by-instant choice replaces Gavel's LP over time shares (no preemption here).
    ``aging_s`` is a policy parameter (a choice, not a measurement).
    """

    name = "max-throughput"

    def __init__(self, aging_s: float = HOUR_S) -> None:
        self.aging_s = aging_s

    def score(self, view: FleetView) -> np.ndarray:
        waited = np.maximum(view.now_s - view.queue.head_ready_s, 0.0)
        age = 1.0 + np.where(np.isfinite(waited), waited, 0.0) / self.aging_s
        return self._normalised(view) * age[:, None]

    def _normalised(self, view: FleetView) -> np.ndarray:
        """[B, P] rate / equal-share rate; it changes only when a bucket is added (view.rate replaced)."""
        memo = getattr(self, "_normalised_memo", None)
        if memo is None or memo[0] is not view.rate:
            share = np.where(view.equal_share_rate > 0, view.equal_share_rate, 1.0)
            memo = self._normalised_memo = (view.rate, view.rate / share[:, None])
        return memo[1]

    def pick(self, view: FleetView) -> tuple[int, int] | None:
        if view.queue.waiting == 0:
            return None
        fits = view.fits()
        if not fits.any():
            return None
        score = np.where(self.usable(view, fits), self.score(view), -np.inf)
        return divmod(int(np.argmax(score)), score.shape[1])  # (bucket, pool) of the row-major argmax

    def usable(self, view: FleetView, fits: np.ndarray) -> np.ndarray:
        """[B, P] placements this policy considers among those that fit (all of them here)."""
        return fits


class GridAware(Policy):
    """Shift flexible jobs to the hours and sites where a token costs the least gCO2e (or $).

    On arrival, a job with a deadline tries every start on the hour within its slack (up to
    ``max_defer_h``), and in each pool the emissions of its run there: energy = IT power x PUE x run
    time, priced at the site's mean intensity over the run (hourly grid profiles where the catalog
    has them). Starting now can only use the pools with room now; a later start may use any pool.
    It waits for the best later start if that saves at least ``min_saving`` over the best start now,
    and decides again when it wakes. Slack keeps ``runtime_margin`` run times in hand for queueing.
    Placing, it takes the earliest ready job, in the fitting pool with the least emissions per token
    over its run. ``max_defer_h``, ``min_saving`` and ``runtime_margin`` are policy parameters (choices,
    not measurements).
    """

    name = "carbon-aware"
    which = "carbon"

    def __init__(self, max_defer_h: int = 48, min_saving: float = 0.01, runtime_margin: float = 1.0) -> None:
        self.max_defer_h = max_defer_h
        self.min_saving = min_saving
        self.runtime_margin = runtime_margin

    def _per_token(self, view: FleetView, rate: np.ndarray, power_w: np.ndarray, pools: np.ndarray,
                   start_s: np.ndarray, work: float) -> np.ndarray:
        """gCO2e (or $) per token of a run of ``work`` tokens started at ``start_s`` in ``pools``."""
        run_s = work / rate
        kwh_per_token = power_w * view.pue[pools] / rate / 3.6e6
        return kwh_per_token * view.grid_mean(self.which, view.pool_site[pools], start_s, start_s + run_s)

    def _per_token_hourly(self, view: FleetView, b: int, pools: np.ndarray, starts: np.ndarray,
                          work: float) -> np.ndarray:
        """[pools, starts]: ``_per_token`` of every start in every pool, the same values, in one pass."""
        rate = view.rate[b, pools]
        kwh_per_token = view.power_w[b, pools] * view.pue[pools] / rate / 3.6e6
        return kwh_per_token[:, None] * view.grid_mean.over_runs(self.which, view.pool_site[pools], starts,
                                                                 work / rate)

    def defer(self, view: FleetView, job: int, b: int) -> float:
        now = view.now_s
        if getattr(self, "_view", None) is not view:  # a new run (see _bucket)
            self._start_run(view)
        deadline = self._deadline[job]
        if not math.isfinite(deadline):
            return now
        bucket = self._bucket(view, job, b)
        if bucket is None:  # no pool can run it
            return now
        pools, table = bucket.pools, bucket.decisions
        row = table.rows.get((job, now))
        if row is not None:  # tabled ahead (deferral.decision_table)
            if not table.may_wait[row]:
                return now
            return self._decide(view, b, pools, table.cost_now[row], table.later_min[row], table.wake_s[row])
        work = float(view.jobs.work_tokens[job])
        hours = int(deferral.slack_hours(deadline, now, work, view.rate[b, pools].min(), self.runtime_margin,
                                         self.max_defer_h))
        if hours < 1:
            return now
        starts = now + HOUR_S * np.arange(hours + 1)
        cost = self._per_token_hourly(view, b, pools, starts, work)
        later = cost[:, 1:].min(axis=0)
        return self._decide(view, b, pools, cost[:, 0], later.min(), starts[1 + np.argmin(later)])

    def _decide(self, view: FleetView, b: int, pools: np.ndarray, cost_now: np.ndarray, later_min: float,
                wake_s: float) -> float:
        """Wait for ``wake_s`` if its cost beats the best start now (pools with room, else any) by min_saving."""
        fit_now = view.nodes.fits(view.queue.demand)[b, pools]
        now_cost = np.minimum.reduce(np.where(fit_now, cost_now, np.inf))  # the least over the pools with room
        if now_cost == np.inf and not fit_now.any():
            now_cost = np.minimum.reduce(cost_now)
        return float(wake_s) if later_min < (1.0 - self.min_saving) * now_cost else view.now_s

    def _bucket(self, view: FleetView, job: int, b: int) -> _BucketCosts | None:
        """What the policy tables ahead for bucket ``b`` (of ``job``), built on first use; None: no pool runs it."""
        if getattr(self, "_view", None) is not view:  # a new run: its own buckets
            self._start_run(view)
        if b not in self._buckets:
            self._buckets[b] = self._bucket_costs(view, job, b)
        return self._buckets[b]

    def _start_run(self, view: FleetView) -> None:
        self._view, self._buckets = view, {}
        self._arrival, self._deadline = view.jobs.arrival_s.tolist(), view.jobs.deadline_s.tolist()

    def _bucket_costs(self, view: FleetView, job: int, b: int) -> _BucketCosts | None:
        pools = np.flatnonzero(view.rate[b] > 0)
        if not len(pools):
            return None
        jobs = view.jobs
        same = ((jobs.job_class == jobs.job_class[job]) & (jobs.devices_min == jobs.devices_min[job])
                & (jobs.devices_max == jobs.devices_max[job]) & (jobs.rejected == 0))
        rate = view.rate[b, pools]
        kwh_per_token = view.power_w[b, pools] * view.pue[pools] / rate / 3.6e6
        rates = deferral.BucketRates(rate, kwh_per_token, view.pool_site[pools])
        members = np.flatnonzero(same)
        arrival = jobs.arrival_s[members]
        at_arrival = view.grid_mean.run_means(self.which, rates.site, arrival[:, None],
                                              jobs.work_tokens[members][:, None] / rate[None, :])[:, :, 0]
        at_arrival *= kwh_per_token[None, :]  # in place: the products kwh_per_token x mean, as _per_token
        idx = np.flatnonzero(same & np.isfinite(jobs.deadline_s))
        settings = deferral.Settings(self.which, self.runtime_margin, self.max_defer_h, self.min_saving)
        table = deferral.decision_table(view.grid_mean, settings, rates, idx, jobs.arrival_s[idx],
                                        jobs.deadline_s[idx], jobs.work_tokens[idx])
        return _BucketCosts(pools, table, dict(zip(members.tolist(), range(len(members)), strict=True)), at_arrival)

    def pool_for(self, view: FleetView, b: int, fitting: np.ndarray) -> int:
        """The fitting pool of least cost per token over the run started now (the first on ties, the first
        NaN if any, as np.argmin). Costs at a job's arrival and at its tabled wakes are looked up (the same
        values, tabled ahead); others are computed on Python floats: the operations of ``_per_token``."""
        now, job = view.now_s, view.queue.head(b)
        bucket = self._bucket(view, job, b)
        cost = None
        if now == self._arrival[job]:
            cost = bucket.at_arrival[bucket.arrival_row[job]]
        else:
            row = bucket.decisions.rows.get((job, now))
            if row is not None and bucket.decisions.may_wait[row]:
                cost = bucket.decisions.cost_now[row]
        if cost is not None:
            k = int(np.argmin(np.where(fitting[bucket.pools], cost, np.inf)))
            return int(bucket.pools[k]) if fitting[bucket.pools[k]] else int(np.argmax(fitting))  # all +inf: first
        work = float(view.jobs.work_tokens[job])
        rate, power, pue, site = view.rate[b].tolist(), view.power_w[b].tolist(), view.pue.tolist(), \
            view.pool_site.tolist()
        pools = np.flatnonzero(fitting).tolist()
        means = view.grid_mean.means_from(self.which, now, [site[p] for p in pools],
                                          [now + work / rate[p] for p in pools])
        best, best_cost = -1, math.inf
        for p, mean in zip(pools, means, strict=True):
            cost = power[p] * pue[p] / rate[p] / 3.6e6 * mean
            if cost != cost:  # NaN: np.argmin's choice
                return p
            if best < 0 or cost < best_cost:
                best, best_cost = p, cost
        return best


@dataclass(frozen=True, slots=True)
class _BucketCosts:
    """A grid-aware policy's tables for one bucket: the pools it runs in, the deferral decisions of its
    flexible jobs, and every job's cost per token in each pool at its arrival (``at_arrival[arrival_row[job]]``)."""

    pools: np.ndarray
    decisions: deferral.Table
    arrival_row: dict[int, int]
    at_arrival: np.ndarray


class PriceAware(GridAware):
    """As :class:`GridAware`, minimising the electricity cost of each token instead of its emissions."""

    name = "price-aware"
    which = "price"


class LatencyAware(MaxThroughput):
    """Serve near the users, train away from them.

    Services fill the pools that meet their TTFT target at the users (WAN round trip included), the
    nearest first, and only then farther pools (served, but late). Training is placed as by
    :class:`MaxThroughput`, but a job goes to a pool near users only when no other pool fits it, so
    near-user capacity stays free for inference peaks.
    """

    name = "latency-aware"

    def usable(self, view: FleetView, fits: np.ndarray) -> np.ndarray:
        """A job's pools near users count only when none away from them fits it."""
        far = fits & ~view.near_users[None, :]
        return np.where(far.any(axis=1)[:, None], far, fits)

    def service_order(self, view: FleetView, rates: Any) -> np.ndarray:
        return _per_rates(self, rates, lambda: self._nearest_first(rates))

    @staticmethod
    def _nearest_first(rates: Any) -> np.ndarray:
        rtt = np.where(np.isnan(rates.rtt_s), np.inf, rates.rtt_s)
        in_slo = np.flatnonzero(rates.tokens_per_s_per_node_in_slo > 0)
        late = np.flatnonzero((rates.tokens_per_s_per_node > 0) & (rates.tokens_per_s_per_node_in_slo <= 0))
        return np.concatenate([in_slo[np.argsort(rtt[in_slo], kind="stable")],
                               late[np.argsort(rtt[late], kind="stable")]])


def _per_rates(policy: Policy, rates: Any, order: Any) -> np.ndarray:
    """A built-in service order depends on the service's rates only: computed once per rates object."""
    memo = policy.__dict__.setdefault("_service_orders", {})
    hit = memo.get(id(rates))
    if hit is None or hit[0] is not rates:  # the object itself is kept, so its id is not reused meanwhile
        hit = memo[id(rates)] = (rates, order())
    return hit[1]


POLICIES: dict[str, type[Policy]] = {
    cls.name: cls for cls in (Policy, MaxThroughput, GridAware, PriceAware, LatencyAware)}


def make_policy(name: str) -> Policy:
    """A built-in policy by name, or a user's ``module:Class`` (a subclass of :class:`Policy`)."""
    if name in POLICIES:
        return POLICIES[name]()
    if ":" in name:
        module, _, attr = name.partition(":")
        try:
            cls = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise InputError("--policy", f"an importable module:Class ({exc})", name) from exc
        if not (isinstance(cls, type) and issubclass(cls, Policy)):
            raise InputError("--policy", "a subclass of flopwatt.fleet.policies.Policy", name)
        return cls()
    raise InputError("--policy", f"one of {', '.join(POLICIES)} or module:Class", name)
