"""The fleet simulation: jobs and services on heterogeneous pools across sites, event by event.

:func:`prepare` does the expensive, policy-independent part once: it loads the traces, evaluates
the throughput matrix with the core models and turns the jobs into work. :func:`simulate` then
replays them under one policy on the event kernel (:mod:`flopwatt.fleet.kernel`):

- a job arrives; the policy may defer it (within its deadline); it waits in its bucket;
- at every instant something changed, the policy places waiting jobs until it places none; a
  placed job holds its devices for ``work / tokens/s`` of its class in that pool (no preemption);
- every ``service_interval_s`` each service's request rate is read from its trace and the policy
  orders the pools its replicas (one node each) go to; services take only free devices.

Speed (issue 22): per event the loop does Python-scalar work and a few numpy operations on [buckets,
pools] tables kept current incrementally (:mod:`flopwatt.fleet.nodes`, :mod:`flopwatt.fleet.queue`);
the policy is not asked while no waiting job fits anywhere (see ``_Run.place``); the grid-aware
policies table their deferral inputs per bucket ahead (:mod:`flopwatt.fleet.deferral`) and each job's
cost per token in each pool at its arrival; the kernel keeps the one SCHEDULE event of an instant
beside its heap. :func:`prepare` reads parsed traces and the throughput matrix from the cache directory
when an earlier run left them (:mod:`flopwatt.fleet.trace_cache`, :mod:`flopwatt.fleet.rates_cache`,
named by digests of everything they are computed from). None of it changes a decision or a figure:
tests/test_fleet_reference.py replays a plain reference and compares bit for bit.

Device-seconds are conserved: a placement never takes more than a pool's free devices (checked
at every step), so busy time never exceeds capacity. Randomness (the class of each trace job)
comes from one seeded generator, so a seed fixes every metric.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from flopwatt import catalog
from flopwatt.energy import facility
from flopwatt.errors import InputError
from flopwatt.fleet.config import FleetConfig
from flopwatt.fleet.gridclock import GridClock
from flopwatt.fleet.jobs import JobTable, build_jobs, elastic_counts, needed_counts
from flopwatt.fleet.kernel import EventQueue, Priority
from flopwatt.fleet.nodes import PoolNodes
from flopwatt.fleet.policies import FleetView, Policy
from flopwatt.fleet.queue import BucketQueue
from flopwatt.fleet.throughput import ServiceRates, TrainingRates, service_rates, training_rates
from flopwatt.fleet.traces import (
    TrainingTrace,
    load_azure_llm,
    load_training_trace,
    resample_training,
    synthetic_training,
)
from flopwatt.perf.lengths import Lengths

RELEASE, SERVICE, ARRIVE, WAKE, SCHEDULE = range(5)


@dataclass(frozen=True, slots=True)
class PreparedService:
    id: str
    rates: ServiceRates
    demand_tokens_per_s: np.ndarray
    """Output tokens/s asked for in consecutive service intervals (replayed cyclically)."""


@dataclass(frozen=True, slots=True)
class Prepared:
    config: FleetConfig
    rates: TrainingRates
    jobs: JobTable
    pool_system: np.ndarray
    pool_devices: np.ndarray
    node_devices: np.ndarray
    """Devices per node of each pool's system."""
    pool_site: np.ndarray
    pue: np.ndarray
    idle_power_w: np.ndarray
    """Per device (board power where no idle figure is published: an upper bound)."""
    idle_power_known: np.ndarray
    services: tuple[PreparedService, ...]
    service_end_s: float
    near_users: np.ndarray
    grid: GridClock


def _pue(config: FleetConfig, site_id: str) -> float:
    s = config.sites[site_id]
    return s.pue_override or facility.pue(s.cooling, s.site)


def _service(service, config: FleetConfig, pools, sites) -> PreparedService:
    """A service's demand per interval and its node rates; a trace lends its lengths' spread too."""
    interval = config.service_interval_s
    if service.trace is not None:
        trace = load_azure_llm(service.trace)
        rate = trace.rate_per_s(interval)
        lengths = Lengths.from_samples(trace.input_tokens, trace.output_tokens)
    else:
        rate = np.array([service.rate_per_s])
        lengths = Lengths(service.input_len, service.output_len)
    if service.input_len or service.output_len:  # the config's means win; the trace's spread no longer fits
        lengths = Lengths(service.input_len or lengths.input_tokens, service.output_len or lengths.output_tokens)
    rates = service_rates(service, pools, sites, lengths)
    demand = rate * service.rate_scale * lengths.output_tokens
    return PreparedService(id=service.id, rates=rates, demand_tokens_per_s=demand)


def _training_trace(config: FleetConfig, path: Path | None, seed: int | None) -> TrainingTrace:
    spec = config.trace
    if path is None and spec.path is None:
        rng = np.random.default_rng([config.seed if seed is None else seed, 1])  # its own stream
        return synthetic_training(spec.synthetic_jobs, rng, mean_interarrival_s=spec.mean_interarrival_s)
    trace = load_training_trace(path or spec.path)
    if spec.synthetic_scale is not None:
        own = spec.seed if spec.seed is not None else config.seed if seed is None else seed
        trace = resample_training(trace, spec.synthetic_scale, np.random.default_rng([own, 2]))  # its own stream
    return trace


def prepare(config: FleetConfig, trace_path: Path | None = None, seed: int | None = None,
            max_jobs: int | None = None, workers: int = 1) -> Prepared:
    """Load traces, evaluate the throughput matrix (over ``workers`` local processes when it is not
    cached), build the jobs (same seed -> same jobs)."""
    trace = None
    if trace_path is not None or config.trace is not None:
        if config.trace is None:
            raise InputError("--trace", "a [trace] table in the config naming the reference_accelerator")
        trace = _training_trace(config, trace_path, seed)
        limit = max_jobs or config.trace.max_jobs
        if limit:
            trace = trace.head(limit)
    systems = {p.system.id: p.system for p in config.pools}
    ref = None
    if config.trace is not None:
        ref_system = catalog.system_for(config.trace.reference_accelerator)
        systems.setdefault(ref_system.id, ref_system)
        ref = list(systems).index(ref_system.id)
    rates = training_rates(config.classes, systems, needed_counts(config, trace), workers)
    site_ids = tuple(config.sites)
    pools = config.pools
    pool_system = np.array([list(systems).index(p.system.id) for p in pools])
    pool_devices = np.array([p.devices for p in pools], dtype=np.int64)
    rng = np.random.default_rng(config.seed if seed is None else seed)
    node_devices = np.array([p.system.devices_per_node for p in pools], dtype=np.int64)
    jobs = build_jobs(config, trace, rates, ref, pool_system, PoolNodes(pool_devices, node_devices), rng)
    end = config.horizon_s or (float(jobs.arrival_s.max()) if len(jobs) else config.service_interval_s)
    sites = {k: v.site for k, v in config.sites.items()}
    services = tuple(_service(s, config, pools, sites) for s in config.services)
    near = np.zeros(len(pools), dtype=bool)
    for s in services:
        near |= s.rates.tokens_per_s_per_node_in_slo > 0
    accs = [p.system.accelerator for p in pools]
    return Prepared(
        config=config, rates=rates, jobs=jobs, pool_system=pool_system, pool_devices=pool_devices,
        node_devices=node_devices,
        pool_site=np.array([site_ids.index(p.site) for p in pools]),
        pue=np.array([_pue(config, p.site) for p in pools]),
        idle_power_w=np.array([a.idle_power_w or a.board_power_w or 0.0 for a in accs]),
        idle_power_known=np.array([a.idle_power_w is not None for a in accs]),
        services=services, service_end_s=end, near_users=near,
        grid=GridClock([sites[s] for s in site_ids], config.start_s_of_year))


@dataclass(frozen=True, slots=True)
class FleetRun:
    """What happened: per job (NaN / -1 where it never ran) and per service interval."""

    prepared: Prepared
    policy: str
    ready_s: np.ndarray
    start_s: np.ndarray
    end_s: np.ndarray
    pool: np.ndarray
    devices: np.ndarray
    it_power_w: np.ndarray
    service_nodes: np.ndarray
    """[services, intervals, pools] nodes each service held in each interval."""
    service_demand: np.ndarray
    """[services, intervals] output tokens/s asked for."""


class _Run:
    """Mutable state of one simulation (kept out of the policies' view)."""

    def __init__(self, prep: Prepared, policy: Policy) -> None:
        self.prep, self.policy, self.events = prep, policy, EventQueue()
        n, pools = len(prep.jobs), len(prep.pool_devices)
        self.queue = BucketQueue()
        self.nodes = PoolNodes(prep.pool_devices, prep.node_devices)
        self.empty = PoolNodes(prep.pool_devices, prep.node_devices)  # never changed: what fits an idle pool
        self.alloc: dict[int, list[tuple[int, int]]] = {}
        self.view = FleetView(now_s=0.0, free=self.nodes.free, nodes=self.nodes, pool_devices=prep.pool_devices,
                              pool_site=prep.pool_site, pue=prep.pue, near_users=prep.near_users, queue=self.queue,
                              rate=np.zeros((0, pools)), power_w=np.zeros((0, pools)),
                              equal_share_rate=np.zeros(0), jobs=prep.jobs, grid_mean=prep.grid)
        self.ready, self.start, self.end = (np.full(n, np.nan) for _ in range(3))
        self.pool, self.devices, self.watts = np.full(n, -1), np.zeros(n, dtype=np.int64), np.zeros(n)
        self.bucket_of = np.full(n, -1)
        self.held = np.zeros((len(prep.services), pools), dtype=np.int64)
        self.held_nodes: list[list[list[int]]] = [[[] for _ in range(pools)] for _ in prep.services]
        self.history: list[np.ndarray] = []
        self.demand: list[list[float]] = []
        self.per_node = [s.rates.tokens_per_s_per_node.tolist() for s in prep.services]
        self.asked = [s.demand_tokens_per_s.tolist() for s in prep.services]
        self.work = prep.jobs.work_tokens.tolist()
        self.lo, self.hi = prep.jobs.devices_min.tolist(), prep.jobs.devices_max.tolist()
        self.job_class = prep.jobs.job_class.tolist()
        self.blocked = True
        """No waiting job fits anywhere (see :meth:`place`); cleared when devices return or a job waits."""

    def _extend_buckets(self) -> None:
        q, prep, view = self.queue, self.prep, self.view
        new = np.arange(len(view.rate), len(q))
        cls, lo = q.job_class[new][:, None], q.demand[new][:, None]
        system = prep.pool_system[None, :]
        rate, watts = prep.rates.at(cls, system, lo)
        rate = np.where(self.empty.fits(lo[:, 0]), rate, 0.0)  # a size no layout of the pool's nodes admits
        view.rate = np.vstack([view.rate, rate])
        view.power_w = np.vstack([view.power_w, watts])
        share = (rate * prep.pool_devices).sum(axis=1) / prep.pool_devices.sum()
        view.equal_share_rate = np.append(view.equal_share_rate, share)
        q.grown = False
        self.nodes.track(q.demand, view.rate > 0)  # view.fits() reads the fit table the nodes keep current

    def bucket(self, job: int) -> int:
        b = self.queue.bucket(self.job_class[job], self.lo[job], self.hi[job])
        if self.queue.grown:
            self._extend_buckets()
        self.bucket_of[job] = b
        return b

    def enqueue(self, job: int, now: float) -> None:
        self.ready[job] = now
        self.queue.push(int(self.bucket_of[job]), job, now)
        self.blocked = False

    def release(self, job: int) -> None:
        self.nodes.give(int(self.pool[job]), self.alloc.pop(job))
        self.blocked = False

    def _size(self, job: int, b: int, p: int) -> tuple[int, float, float]:
        """Devices, tokens/s and IT power for ``job`` in pool ``p`` (elastic jobs take their fastest fit)."""
        prep, lo, hi = self.prep, self.lo[job], self.hi[job]
        if lo == hi:
            return lo, float(self.view.rate[b, p]), float(self.view.power_w[b, p])
        counts = np.array(elastic_counts(lo, hi))
        counts = counts[self.nodes.fits(counts)[:, p]]
        rate, watts = prep.rates.at(np.full(len(counts), prep.jobs.job_class[job]),
                                    np.full(len(counts), prep.pool_system[p]), counts)
        k = int(np.argmax(rate))
        return int(counts[k]), float(rate[k]), float(watts[k])

    def place(self, now: float) -> None:
        """Let the policy place waiting jobs until it places none.

        The policy is not asked while no waiting job's fewest devices fit any pool's free nodes: no
        placement is possible then (a larger count never fits where the fewest do not), whatever the
        policy. That state (``blocked``) lasts until devices are given back or a job starts waiting."""
        if self.blocked:
            return
        view, queue, nodes = self.view, self.queue, self.nodes
        while True:
            if not (queue.waiting and np.count_nonzero(nodes.runnable_rows() & queue.nonempty[:, 0])):
                self.blocked = True  # nothing can be placed: the policy is not asked
                return
            choice = self.policy.pick(view)
            if choice is None:  # the policy places none of the jobs that fit
                self.blocked = False
                return
            b, p = choice
            job = queue.pop(b)
            devices, rate, watts = self._size(job, b, p)
            if not (rate > 0 and nodes.fits_one(p, devices)):
                raise RuntimeError(f"policy {self.policy.name} placed job {job} where it cannot run (pool {p})")
            self.alloc[job] = nodes.take(p, devices)
            end = now + self.work[job] / rate
            self.start[job], self.end[job], self.pool[job] = now, end, p
            self.devices[job], self.watts[job] = devices, watts
            self.events.push(end, Priority.RELEASE, (RELEASE, job))

    def serve(self, k: int) -> None:
        """Re-place every service's replicas for service interval ``k``."""
        view, demand = self.view, []
        for s, (svc, per_node_rate, asked) in enumerate(zip(self.prep.services, self.per_node, self.asked,
                                                            strict=True)):
            free_nodes = self.nodes.free_nodes.tolist()  # after the services before this one took theirs
            need = asked[k % len(asked)]  # a Python float: the same arithmetic as on the array's float64
            demand.append(need)
            held, new = self.held[s].tolist(), [0] * len(per_node_rate)
            for p in self.policy.service_order(view, svc.rates).tolist():
                if need <= 0:
                    break
                per_node = per_node_rate[p]
                new[p] = min(held[p] + free_nodes[p], math.ceil(need / per_node))
                need -= new[p] * per_node
            self._resize(s, held, new)
        self.history.append(self.held.copy())
        self.demand.append(demand)

    def _resize(self, s: int, held: list[int], new: list[int]) -> None:
        """Give back or take whole nodes so that service ``s`` holds ``new`` nodes per pool."""
        for p, (before, after) in enumerate(zip(held, new, strict=True)):
            if before == after:
                continue
            nodes = self.held_nodes[s][p]
            if after < before:
                self.nodes.give_nodes(p, [nodes.pop() for _ in range(before - after)])
                self.blocked = False
            else:
                nodes.extend(self.nodes.take_nodes(p, after - before))
        self.held[s] = new

    def release_services(self) -> None:
        for s in range(len(self.prep.services)):
            self._resize(s, self.held[s].tolist(), [0] * self.held.shape[1])


def simulate(prep: Prepared, policy: Policy) -> FleetRun:
    """Replay the prepared jobs and services under ``policy``."""
    run, jobs = _Run(prep, policy), prep.jobs
    events, interval = run.events, prep.config.service_interval_s
    todo = np.flatnonzero(jobs.rejected == 0)
    arrivals = iter(zip(jobs.arrival_s[todo].tolist(), todo.tolist(), strict=True))
    first = next(arrivals, None)
    if first is not None:
        events.push(first[0], Priority.ARRIVAL, (ARRIVE, first[1]))
    intervals = max(math.ceil(prep.service_end_s / interval), 1) if prep.services else 0
    if intervals:
        events.push(0.0, Priority.SERVICE, (SERVICE, 0))
    while events:
        now, _, _, (kind, i) = events.pop_entry()
        run.view.now_s = now
        if kind == SCHEDULE:
            run.place(now)
            continue
        if kind == ARRIVE:
            nxt = next(arrivals, None)
            if nxt is not None:
                events.push(nxt[0], Priority.ARRIVAL, (ARRIVE, nxt[1]))
            run.bucket(i)
        if kind in (ARRIVE, WAKE):
            ready = policy.defer(run.view, i, int(run.bucket_of[i]))  # a woken job may wait again
            if ready > now:
                events.push(ready, Priority.ARRIVAL, (WAKE, i))
                continue
            run.enqueue(i, now)
        elif kind == RELEASE:
            run.release(i)
        elif kind == SERVICE:
            if i < intervals:
                run.serve(i)
                events.push((i + 1) * interval, Priority.SERVICE, (SERVICE, i + 1))
            else:
                run.release_services()
        events.schedule_now((SCHEDULE, -1))
    shape = (len(run.history), len(prep.services), len(prep.pool_devices))
    nodes = np.array(run.history, dtype=np.int64).reshape(shape).transpose(1, 0, 2)
    demand = np.array(run.demand, dtype=float).reshape(shape[:2]).T
    return FleetRun(prepared=prep, policy=policy.name, ready_s=run.ready, start_s=run.start, end_s=run.end,
                    pool=run.pool, devices=run.devices, it_power_w=run.watts, service_nodes=nodes,
                    service_demand=demand)
