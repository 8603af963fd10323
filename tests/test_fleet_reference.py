"""Issue 22: the optimised simulator against a straightforward reference, on small random traces.

The reference below is the simulator as it was before the speed work, written the plain way: numpy
nodes recomputed on every call, the policy asked at every scheduling instant, the grid-aware policies'
costs through the generic grid clock call for every decision, no tables built ahead, no memo. The
optimised :func:`flopwatt.fleet.simulate.simulate` must give the same schedule, bit for bit, for every
built-in policy, on job subsets of the Philly trace squeezed in time (congestion), with random deadlines
and elastic jobs.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flopwatt.fleet.config import parse_config
from flopwatt.fleet.jobs import elastic_counts
from flopwatt.fleet.kernel import EventQueue, Priority
from flopwatt.fleet.policies import (
    POLICIES,
    FleetView,
    GridAware,
    LatencyAware,
    MaxThroughput,
    Policy,
    PriceAware,
)
from flopwatt.fleet.queue import BucketQueue
from flopwatt.fleet.simulate import prepare, simulate

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "fleet-3site.toml"
RELEASE, SERVICE, ARRIVE, WAKE, SCHEDULE = range(5)


class RefNodes:
    """Free devices per node as numpy arrays, every summary recomputed on each change."""

    def __init__(self, pool_devices, node_devices):
        self.node_devices = np.asarray(node_devices, dtype=np.int64)
        self.capacity = [np.array([s] * (d // s) + ([d % s] if d % s else []), dtype=np.int64)
                         for d, s in zip(pool_devices.tolist(), self.node_devices.tolist(), strict=True)]
        self.nodes = [c.copy() for c in self.capacity]
        n = len(self.nodes)
        self.free, self.max_node_free, self.free_nodes = (np.zeros(n, dtype=np.int64) for _ in range(3))
        for p in range(n):
            self.refresh(p)

    def whole(self, p):
        cap = self.capacity[p]
        return np.flatnonzero((self.nodes[p] == cap) & (cap == self.node_devices[p]))

    def refresh(self, p):
        self.free[p] = self.nodes[p].sum()
        self.max_node_free[p] = self.nodes[p].max() if len(self.nodes[p]) else 0
        self.free_nodes[p] = len(self.whole(p))

    def fits(self, demand):
        d, size = demand[:, None], self.node_devices[None, :]
        return np.where(d <= size, d <= self.max_node_free[None, :], -(-d // size) <= self.free_nodes[None, :])

    def fits_runnable(self, demand):
        return None

    def take(self, p, devices):
        nodes, size = self.nodes[p], int(self.node_devices[p])
        taken = []
        if devices > size:
            full = self.whole(p)[: devices // size]
            taken = [(int(i), int(nodes[i])) for i in full]
            nodes[full] = 0
            devices -= sum(c for _, c in taken)
        if devices > 0:
            best = int(np.argmin(np.where(nodes >= devices, nodes, np.iinfo(np.int64).max)))
            assert nodes[best] >= devices
            nodes[best] -= devices
            taken.append((best, devices))
        self.refresh(p)
        return taken

    def take_nodes(self, p, count):
        full = self.whole(p)[:count]
        assert len(full) == count
        self.nodes[p][full] = 0
        self.refresh(p)
        return full.tolist()

    def give(self, p, taken):
        for node, devices in taken:
            self.nodes[p][node] += devices
        self.refresh(p)

    def give_nodes(self, p, nodes):
        self.nodes[p][nodes] = self.capacity[p][nodes]
        self.refresh(p)


@dataclasses.dataclass(slots=True)
class RefView(FleetView):
    def fits(self):
        q = self.queue
        return self.nodes.fits(q.demand) & (self.rate > 0) & np.isfinite(q.head_ready_s)[:, None]


class _PlainServices:
    def service_order(self, view, rates):  # recomputed at every interval
        if isinstance(self, LatencyAware):
            return LatencyAware._nearest_first(rates)
        return np.flatnonzero(rates.tokens_per_s_per_node > 0)


class _PlainGrid(_PlainServices):
    def defer(self, view, job, b):
        deadline, now = view.jobs.deadline_s[job], view.now_s
        pools = np.flatnonzero(view.rate[b] > 0)
        if not np.isfinite(deadline) or not len(pools):
            return now
        work = float(view.jobs.work_tokens[job])
        slack = deadline - now - (1.0 + self.runtime_margin) * work / view.rate[b, pools].min()
        hours = int(min(max(slack, 0.0) // 3600.0, self.max_defer_h))
        if hours < 1:
            return now
        starts = now + 3600.0 * np.arange(hours + 1)
        grid_p, grid_s = np.meshgrid(pools, starts, indexing="ij")
        cost = self._per_token(view, view.rate[b, grid_p], view.power_w[b, grid_p], grid_p, grid_s, work)
        fit_now = view.nodes.fits(view.queue.demand[b:b + 1])[0, pools]
        now_cost = cost[fit_now, 0].min() if fit_now.any() else cost[:, 0].min()
        later = cost[:, 1:].min(axis=0)
        if later.min() < (1.0 - self.min_saving) * now_cost:
            return float(starts[1 + np.argmin(later)])
        return now

    def pool_for(self, view, b, fitting):
        pools = np.flatnonzero(fitting)
        cost = self._per_token(view, view.rate[b, pools], view.power_w[b, pools], pools,
                               np.full(len(pools), view.now_s), float(view.jobs.work_tokens[view.queue.head(b)]))
        return int(pools[np.argmin(cost)])


REFERENCE = {"fifo": type("RefFifo", (_PlainServices, Policy), {}),
             "max-throughput": type("RefMax", (_PlainServices, MaxThroughput), {}),
             "carbon-aware": type("RefCarbon", (_PlainGrid, GridAware), {}),
             "price-aware": type("RefPrice", (_PlainGrid, PriceAware), {}),
             "latency-aware": type("RefLatency", (_PlainServices, LatencyAware), {})}


class RefRun:
    def __init__(self, prep, policy):
        self.prep, self.policy, self.events = prep, policy, EventQueue()
        n, pools = len(prep.jobs), len(prep.pool_devices)
        self.queue = BucketQueue()
        self.nodes = RefNodes(prep.pool_devices, prep.node_devices)
        self.empty = RefNodes(prep.pool_devices, prep.node_devices)
        self.alloc = {}
        self.view = RefView(now_s=0.0, free=self.nodes.free, nodes=self.nodes, pool_devices=prep.pool_devices,
                            pool_site=prep.pool_site, pue=prep.pue, near_users=prep.near_users, queue=self.queue,
                            rate=np.zeros((0, pools)), power_w=np.zeros((0, pools)), equal_share_rate=np.zeros(0),
                            jobs=prep.jobs, grid_mean=prep.grid)
        self.ready, self.start, self.end = (np.full(n, np.nan) for _ in range(3))
        self.pool, self.devices, self.watts = np.full(n, -1), np.zeros(n, dtype=np.int64), np.zeros(n)
        self.bucket_of = np.full(n, -1)
        self.held = np.zeros((len(prep.services), pools), dtype=np.int64)
        self.held_nodes = [[[] for _ in range(pools)] for _ in prep.services]
        self.history, self.demand = [], []

    def bucket(self, job):
        jobs, q, view, prep = self.prep.jobs, self.queue, self.view, self.prep
        b = q.bucket(int(jobs.job_class[job]), int(jobs.devices_min[job]), int(jobs.devices_max[job]))
        if q.grown:
            new = np.arange(len(view.rate), len(q))
            cls, lo = q.job_class[new][:, None], q.demand[new][:, None]
            rate, watts = prep.rates.at(cls, prep.pool_system[None, :], lo)
            rate = np.where(self.empty.fits(lo[:, 0]), rate, 0.0)
            view.rate, view.power_w = np.vstack([view.rate, rate]), np.vstack([view.power_w, watts])
            share = (rate * prep.pool_devices).sum(axis=1) / prep.pool_devices.sum()
            view.equal_share_rate = np.append(view.equal_share_rate, share)
            q.grown = False
        self.bucket_of[job] = b

    def size(self, job, b, p):
        jobs, prep = self.prep.jobs, self.prep
        lo, hi = int(jobs.devices_min[job]), int(jobs.devices_max[job])
        if lo == hi:
            return lo, float(self.view.rate[b, p]), float(self.view.power_w[b, p])
        counts = np.array(elastic_counts(lo, hi))
        counts = counts[self.nodes.fits(counts)[:, p]]
        rate, watts = prep.rates.at(np.full(len(counts), jobs.job_class[job]),
                                    np.full(len(counts), prep.pool_system[p]), counts)
        k = int(np.argmax(rate))
        return int(counts[k]), float(rate[k]), float(watts[k])

    def place(self, now):
        while (choice := self.policy.pick(self.view)) is not None:
            b, p = choice
            job = self.queue.pop(b)
            devices, rate, watts = self.size(job, b, p)
            assert rate > 0 and self.nodes.fits(np.array([devices]))[0, p]
            self.alloc[job] = self.nodes.take(p, devices)
            end = now + float(self.prep.jobs.work_tokens[job]) / rate
            self.start[job], self.end[job], self.pool[job] = now, end, p
            self.devices[job], self.watts[job] = devices, watts
            self.events.push(end, Priority.RELEASE, (RELEASE, job))

    def serve(self, k):
        demand = np.zeros(len(self.prep.services))
        for s, svc in enumerate(self.prep.services):
            demand[s] = need = svc.demand_tokens_per_s[k % len(svc.demand_tokens_per_s)]
            new = np.zeros_like(self.held[s])
            for p in self.policy.service_order(self.view, svc.rates):
                if need <= 0:
                    break
                per_node = float(svc.rates.tokens_per_s_per_node[p])
                new[p] = min(self.held[s][p] + self.nodes.free_nodes[p], math.ceil(need / per_node))
                need -= new[p] * per_node
            self.resize(s, new)
        self.history.append(self.held.copy())
        self.demand.append(demand)

    def resize(self, s, new):
        for p in np.flatnonzero(new != self.held[s]):
            nodes, change = self.held_nodes[s][p], int(new[p] - self.held[s, p])
            if change < 0:
                self.nodes.give_nodes(p, [nodes.pop() for _ in range(-change)])
            else:
                nodes.extend(self.nodes.take_nodes(p, change))
        self.held[s] = new


def reference_simulate(prep, policy) -> RefRun:
    """The event loop of the simulator, asking the policy at every instant."""
    run, jobs = RefRun(prep, policy), prep.jobs
    events, interval = run.events, prep.config.service_interval_s
    arrivals = iter(np.flatnonzero(jobs.rejected == 0).tolist())  # each arrival pushed when the one before runs
    first = next(arrivals, None)
    if first is not None:
        events.push(float(jobs.arrival_s[first]), Priority.ARRIVAL, (ARRIVE, first))
    intervals = max(math.ceil(prep.service_end_s / interval), 1) if prep.services else 0
    if intervals:
        events.push(0.0, Priority.SERVICE, (SERVICE, 0))
    while events:
        event = events.pop()
        now, (kind, i) = event.time_s, event.payload
        run.view.now_s = now
        if kind == SCHEDULE:
            run.place(now)
            continue
        if kind == ARRIVE:
            if (nxt := next(arrivals, None)) is not None:
                events.push(float(jobs.arrival_s[nxt]), Priority.ARRIVAL, (ARRIVE, nxt))
            run.bucket(i)
        if kind in (ARRIVE, WAKE):
            ready = policy.defer(run.view, i, int(run.bucket_of[i]))
            if ready > now:
                events.push(ready, Priority.ARRIVAL, (WAKE, i))
                continue
            run.ready[i] = now
            run.queue.push(int(run.bucket_of[i]), i, now)
        elif kind == RELEASE:
            run.nodes.give(int(run.pool[i]), run.alloc.pop(i))
        elif kind == SERVICE:
            if i < intervals:
                run.serve(i)
                events.push((i + 1) * interval, Priority.SERVICE, (SERVICE, i + 1))
            else:
                for s in range(len(prep.services)):
                    run.resize(s, np.zeros_like(run.held[s]))
        events.schedule_now((SCHEDULE, -1))
    return run


@pytest.fixture(scope="module")
def base():
    """The documented 3-site fleet with its services, 400 Philly jobs and three elastic jobs."""
    data = tomllib.loads(EXAMPLE.read_text())
    data["trace"]["max_jobs"] = 400
    data["jobs"] = [{"class": "gpt3-350m", "arrival_s": 900.0, "devices_min": 2, "devices_max": 16, "tokens": 4e10},
                    {"class": "gpt3-125m", "arrival_s": 2000.0, "devices_min": 1, "devices_max": 8, "tokens": 1e10,
                     "deadline_s": 90000.0},
                    {"class": "gpt3-1p3b", "arrival_s": 2000.0, "devices_min": 4, "devices_max": 32, "tokens": 2e10}]
    return prepare(parse_config(data, EXAMPLE.parent))


def variant(prep, keep: np.ndarray, squeeze: float, slack: float):
    """A subset of the jobs, arrivals squeezed by ``squeeze``, deadlines' margins scaled by ``slack``."""
    j = prep.jobs
    arrival = j.arrival_s[keep] * squeeze
    margin = j.deadline_s[keep] - j.arrival_s[keep]
    jobs = dataclasses.replace(j, **{f.name: getattr(j, f.name)[keep] for f in dataclasses.fields(j)})
    jobs = dataclasses.replace(jobs, arrival_s=arrival, deadline_s=arrival + margin * slack)
    return dataclasses.replace(prep, jobs=jobs, service_end_s=float(arrival.max()))


def assert_same(run, ref):
    for name in ("ready", "start", "end", "pool", "devices", "watts"):
        got = getattr(run, {"ready": "ready_s", "start": "start_s", "end": "end_s", "watts": "it_power_w"}.get(
            name, name))
        np.testing.assert_array_equal(got, getattr(ref, name), err_msg=name)
    shape = (len(ref.history), len(ref.prep.services), len(ref.prep.pool_devices))
    nodes = np.array(ref.history, dtype=np.int64).reshape(shape).transpose(1, 0, 2)
    np.testing.assert_array_equal(run.service_nodes, nodes)


@pytest.mark.parametrize(("name", "kw"), [(name, {}) for name in REFERENCE] + [
    ("carbon-aware", {"max_defer_h": 1, "min_saving": 0.0}),  # short horizons: the last allowed hour often wins
    ("price-aware", {"max_defer_h": 2, "min_saving": 0.0, "runtime_margin": 0.0})])
def test_every_policy_matches_the_reference_on_the_whole_subset(base, name, kw):
    run = simulate(base, POLICIES[name](**kw))
    ref = reference_simulate(base, REFERENCE[name](**kw))
    assert_same(run, ref)
    assert np.isfinite(run.end_s).sum() > 300  # the trace ran (not an empty comparison)
    if name in ("carbon-aware", "price-aware"):
        assert np.sum(run.ready_s > base.jobs.arrival_s) >= 10  # and some jobs were deferred


GRID_SETTINGS = st.fixed_dictionaries({"max_defer_h": st.sampled_from([1, 2, 3, 5, 12, 48, 60]),
                                       "min_saving": st.floats(0.0, 0.3), "runtime_margin": st.floats(0.0, 2.0)})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), name=st.sampled_from(list(REFERENCE)), squeeze=st.floats(0.02, 1.0),
       slack=st.floats(0.3, 3.0))
def test_optimised_simulator_equals_the_reference(base, data, name, squeeze, slack):
    n = len(base.jobs)
    keep = np.flatnonzero(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    if len(keep) < 2:
        keep = np.arange(n)
    prep = variant(base, keep, squeeze, slack)
    kw = data.draw(GRID_SETTINGS) if name in ("carbon-aware", "price-aware") else {}
    assert_same(simulate(prep, POLICIES[name](**kw)), reference_simulate(prep, REFERENCE[name](**kw)))
