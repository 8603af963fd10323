"""The Ray backend of the plan search: tasks on a Ray cluster, a bounded queue, the results thinned as they come.

Connecting: ``address`` (``auto``, ``HOST:PORT`` of the head's GCS, or ``ray://HOST:10001`` through Ray
Client), else the ``RAY_ADDRESS`` environment variable Ray itself reads, else a local instance on this
machine's cores. A cluster the search connected to itself is disconnected at the end; one the caller
initialised (``ray.init`` before the search) is left as it is.

Memory: at most ``IN_FLIGHT_PER_CPU`` tasks per cluster CPU are submitted ahead of the results, so neither the
object store nor the driver holds the whole space's results; each task is at most a few work items of
``engine.MAX_CONFIGS_PER_ITEM`` configurations (what bounds a worker). The driver keeps every item's counts,
but of the rows (fronts, top-k) only those :func:`engine.merge` can still use: :class:`Thinner`.

Placement: the tasks are CPU-bound and their arguments small, so they are submitted with Ray's ``"SPREAD"``
scheduling strategy (docs.ray.io, Scheduling: Scheduling strategies) over the cluster's nodes. Under Ray's
default, a driver reuses the worker leases it holds for tasks of one kind; short tasks then all ran on the
head node while a joining node's worker was still starting.

Stopping: on any exception in the driver (Ctrl-C included) the tasks still queued or running are cancelled
with ``force=True`` (their worker processes are killed) before the exception goes on; a driver that is
killed outright (SIGKILL) is a finished job to Ray, whose raylets then kill its workers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from flopwatt.errors import InputError
from flopwatt.search.pareto import front_indices

IN_FLIGHT_PER_CPU = 4
"""Tasks submitted ahead per cluster CPU: enough to hide a round trip (~1 ms), few to cancel on Ctrl-C."""
THIN_ABOVE_ROWS = 20_000
"""The driver thins the rows it holds (fronts and top-k of the items so far) when they pass this many
(a row is a dict of ~30 fields, ~1 KB)."""


def import_ray():
    try:
        import ray
    except ImportError as exc:
        raise InputError("--backend", "ray installed (pip install 'flopwatt[ray]')", "ray") from exc
    return ray


def connect(ray, address: str | None) -> None:
    """``ray.init`` of ``address``, else of ``RAY_ADDRESS``, else a local instance of ``os.cpu_count()`` CPUs
    (num_cpus may only be given to a new instance, never when joining a cluster)."""
    target = address or os.environ.get("RAY_ADDRESS") or None
    if target:
        ray.init(address=target, log_to_driver=False)
    else:
        ray.init(include_dashboard=False, log_to_driver=False, num_cpus=os.cpu_count())


class Thinner:
    """Drops the rows of finished items that :func:`flopwatt.search.engine.merge` cannot use any more.

    ``merge`` concatenates the items' fronts and top rows in item order. Of the fronts it keeps the
    non-dominated rows, the first of equal rows (:func:`front_indices`); of the top rows, ranked by
    (wall_s, usd) with ties in item order, the first ``top_k`` and the first of each system. A row that
    fails these tests against the rows seen so far fails them against any superset (dominance is
    transitive; a later row can only push a ranked row down), so it is dropped; the survivors stay in
    their own items, in their order. ``merge`` of the thinned items is therefore ``merge`` of the whole.
    """

    def __init__(self, top_k: int, limit_rows: int = THIN_ABOVE_ROWS) -> None:
        self.top_k = top_k
        self.limit_rows = limit_rows
        self.items: list[tuple[int, Any]] = []
        self.live: list[tuple[int, Any]] = []
        """The items that still hold rows (a thinning visits only these)."""
        self.rows = 0

    def add(self, numbered: list[tuple[int, Any]]) -> None:
        self.items.extend(numbered)
        self.live.extend(pair for pair in numbered if pair[1].front or pair[1].top)
        self.rows += sum(len(r.front) + len(r.top) for _, r in numbered)
        if self.rows > self.limit_rows:
            self.thin()

    def thin(self) -> None:
        from flopwatt.search.run import OBJECTIVES

        self.live.sort(key=lambda pair: pair[0])
        ordered = [r for _, r in self.live]
        fronts = [(r, row) for r in ordered for row in r.front]
        kept_front = set()
        if fronts:
            points = np.array([[row[k] for k in OBJECTIVES] for _, row in fronts], dtype=float)
            kept_front = {id(fronts[i][1]) for i in front_indices(points).tolist()}
        tops = [row for r in ordered for row in r.top]
        ranked = sorted(tops, key=lambda row: (row["wall_s"], row["usd"]))  # stable: ties in item order
        kept_top = {id(row) for row in ranked[:self.top_k]}
        systems: set[str] = set()
        for row in ranked:
            if row["system"] not in systems:
                systems.add(row["system"])
                kept_top.add(id(row))
        for r in ordered:
            r.front = [row for row in r.front if id(row) in kept_front]
            r.top = [row for row in r.top if id(row) in kept_top]
        self.live = [pair for pair in self.live if pair[1].front or pair[1].top]
        self.rows = sum(len(r.front) + len(r.top) for _, r in self.live)


def run(tasks: list[tuple], address: str | None, progress: Callable, stats, task_fn: Callable,
        record: Callable, top_k: int) -> list[list[tuple[int, Any]]]:
    """Run ``task_fn`` on every task as Ray tasks; each result goes through ``record(stats, result)`` and
    ``progress`` as it arrives. Returns the tasks' numbered results (thinned: :class:`Thinner`)."""
    ray = import_ray()
    started = not ray.is_initialized()
    if started:
        connect(ray, address)
    pending: dict[Any, None] = {}  # the refs in flight (a dict keeps their order)
    try:
        start = time.perf_counter()
        remote = ray.remote(task_fn).options(scheduling_strategy="SPREAD")
        limit = max(IN_FLIGHT_PER_CPU, IN_FLIGHT_PER_CPU * int(ray.cluster_resources().get("CPU", 1)))
        thinner = Thinner(top_k)
        queue = iter(tasks)
        out: list[list[tuple[int, Any]]] = []
        _submit(remote, queue, pending, limit)
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                del pending[ref]
                numbered = progress(record(stats, ray.get(ref)))
                thinner.add(numbered)
                out.append(numbered)
            _submit(remote, queue, pending, limit)
        thinner.thin()
        if stats is not None:
            stats.wall_s += time.perf_counter() - start
        return out
    except BaseException:
        _cancel(ray, pending)
        raise
    finally:
        if started:
            ray.shutdown()


def _submit(remote, queue, pending: dict, limit: int) -> None:
    while len(pending) < limit:
        task = next(queue, None)
        if task is None:
            return
        pending[remote.remote(task)] = None


def _cancel(ray, pending: dict) -> None:
    """Cancel queued and running tasks; a running one's worker process is killed (force)."""
    for ref in pending:
        try:
            ray.cancel(ref, force=True)
        except Exception:  # noqa: BLE001 - a task that finished meanwhile cannot be cancelled; the rest still are
            pass
