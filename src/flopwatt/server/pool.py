"""Killable workers for the web server: each request's computation runs in a worker process that is
killed (and replaced) when the request's deadline passes or its client goes away, so an abandoned
request never keeps a CPU busy.

A worker is a ``forkserver`` child (a clean process, not a fork of the threaded server) that answers
``(endpoint, body) -> ("ok", text) | ("input", message)`` over a pipe; the user catalogs the server
was started with (``--catalog``) are applied in each worker.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import multiprocessing
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

POLL_S = 0.05
"""How often a waiting request checks its worker's health, its deadline and its client (its answer wakes it
at once)."""


async def _readable(loop: asyncio.AbstractEventLoop, conn: Any, timeout_s: float) -> None:
    """Return when ``conn`` has data (or EOF) or after ``timeout_s``, whichever is first."""
    ready = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    try:
        loop.add_reader(conn.fileno(), wake)
    except (RuntimeError, AttributeError, ValueError):  # no selector loop (Windows raises a RuntimeError
        # subclass for add_reader): a plain poll
        await asyncio.sleep(timeout_s)
        return
    timer = loop.call_later(timeout_s, wake)  # a timer handle, not wait_for's extra task and futures
    try:
        await ready
    finally:
        timer.cancel()
        loop.remove_reader(conn.fileno())
        if not os.get_blocking(conn.fileno()):  # uvloop's add_reader makes it non-blocking: a recv of an answer
            os.set_blocking(conn.fileno(), True)  # larger than the pipe's buffer would stop half-way


class Timeout(Exception):
    """The deadline passed: the worker was killed."""


class Busy(Timeout):
    """The deadline passed while the request waited for a worker: nothing was computed, nothing killed."""


class Disconnected(Exception):
    """The client went away: the worker was killed."""


def _serve(conn: Any, overlays: list[str]) -> None:
    """A worker's loop: apply the catalogs, then answer requests until the pipe closes."""
    from pathlib import Path

    from flopwatt import catalog
    from flopwatt.errors import InputError
    from flopwatt.server.app import answer

    for path in overlays:
        catalog.use_overlay(Path(path))
    while True:
        try:
            endpoint, body = conn.recv()
        except (EOFError, OSError):
            return
        try:
            conn.send(("ok", "" if endpoint == "ping" else answer(endpoint, body)))
        except InputError as exc:
            conn.send(("input", str(exc)))
        except Exception as exc:  # a bug: answered as a server error, the worker stays usable  # noqa: BLE001
            conn.send(("error", f"internal error: {exc.__class__.__name__}: {exc}"))


class Worker:
    """One worker process and our end of its pipe."""

    def __init__(self, ctx: Any, overlays: list[str]) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child, overlays), daemon=True)
        self.process.start()
        child.close()

    def kill(self) -> None:
        self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


LONG_ENDPOINTS = frozenset({"plan", "plan/part", "plan/report", "fleet", "fleet/report", "capacity",
                            "capacity/report"})
"""Searches and simulations (up to seconds each; a streamed search queues many parts at once). They wait in
their own lane, so a quick estimate never waits behind a search's queued parts."""


class Lanes:
    """Requests waiting for a worker, oldest first, in two lanes: ``lanes[False]`` quick, ``lanes[True]`` long
    endpoints; its length is theirs together."""

    def __init__(self) -> None:
        self.queues: dict[bool, collections.deque[asyncio.Future]] = {False: collections.deque(),
                                                                      True: collections.deque()}

    def __getitem__(self, long: bool) -> collections.deque[asyncio.Future]:
        return self.queues[long]

    def __len__(self) -> int:
        return len(self.queues[False]) + len(self.queues[True])


class Pool:
    """At most ``size`` workers, started on demand; a worker busy past a deadline is killed, not waited for."""

    def __init__(self, size: int | None = None, overlays: list[str] | None = None,
                 long_endpoints: frozenset[str] = LONG_ENDPOINTS) -> None:
        self.size = size or max(1, min(4, os.cpu_count() or 1))
        self.long_endpoints = long_endpoints
        self.overlays = list(overlays or [])
        forkserver = "forkserver" in multiprocessing.get_all_start_methods()  # not on Windows
        self.ctx = multiprocessing.get_context("forkserver" if forkserver else "spawn")
        if forkserver:
            self.ctx.set_forkserver_preload(["flopwatt.server.app"])  # workers start in ms, not an import each
        self.idle: list[Worker] = []
        self.killed: list[tuple[int, float]] = []
        """(pid, time.monotonic() when it was reaped) of every killed worker (the tests read it)."""
        self.busy: set[Worker] = set()
        self.starting = 0
        self.waiting = Lanes()
        """Requests waiting for a worker; each future gets a worker, or None: start one."""
        self.turn = False
        """The lane that gets the next freed worker when both have requests waiting (they take turns)."""

    def warm(self) -> None:
        """Start every worker now (the first start imports the server once, in the forkserver)."""
        while len(self.idle) + len(self.busy) < self.size:
            self.idle.append(Worker(self.ctx, self.overlays))
        for worker in self.idle:  # a round trip: the worker has imported and applied the catalogs
            worker.conn.send(("ping", ""))
        for worker in self.idle:
            worker.conn.recv()

    async def run(self, endpoint: str, body: str, timeout_s: float,
                  disconnected: Callable[[], Awaitable[bool]] | None = None) -> tuple[str, str]:
        """``(status, text)`` of one request; raises Timeout or Disconnected after killing its worker (a
        request whose client went while it waited for a worker raises Disconnected and kills nothing).

        Requests waiting for a worker are served first come, first served (a queue of futures, not a
        polling race) within their lane, the quick and the long lanes taking turns for each freed worker;
        a request learns that its answer arrived from the event loop (the pipe is readable), not at the
        next poll: a free worker never idles while requests wait."""
        deadline = time.monotonic() + timeout_s
        worker, waited = await self._acquire(deadline, endpoint in self.long_endpoints)
        if waited and disconnected is not None:
            await self._check_client(worker, disconnected)
        self.busy.add(worker)
        try:
            worker.conn.send((endpoint, body))
            result = await self._wait(worker, deadline, disconnected)
        except BaseException:
            self.busy.discard(worker)
            self._kill(worker)
            self._free(None)
            raise
        self.busy.discard(worker)
        self._free(worker)
        return result

    async def _check_client(self, worker: Worker, disconnected: Callable[[], Awaitable[bool]]) -> None:
        """After a wait in the queue: a request whose client went meanwhile hands its worker, untouched (its
        caches kept), to the next request instead of computing an answer nobody reads."""
        try:
            gone = await disconnected()
        except BaseException:
            self._free(worker)
            raise
        if gone:
            self._free(worker)
            raise Disconnected

    async def _acquire(self, deadline: float, long: bool) -> tuple[Worker, bool]:
        """An idle worker, a new one if fewer than ``size`` exist, else the next one freed (in arrival order);
        and whether the request waited for it."""
        if not self.waiting:
            if self.idle:
                return self.idle.pop(), False
            if self.starting + len(self.busy) < self.size:
                self.starting += 1
                return await self._start(), False
        handed: asyncio.Future = asyncio.get_running_loop().create_future()
        self.waiting[long].append(handed)
        try:
            got = await asyncio.wait_for(handed, max(deadline - time.monotonic(), 0.0))
        except BaseException as exc:  # timed out, or the request was cancelled while it waited
            with contextlib.suppress(ValueError):
                self.waiting[long].remove(handed)
            if handed.done() and not handed.cancelled():  # handed over at the last moment: pass it on
                self._pass_on(handed.result())
            if isinstance(exc, TimeoutError):
                raise Busy from None
            raise
        return (got if got is not None else await self._start()), True

    def _pass_on(self, worker: Worker | None) -> None:
        if worker is None:
            self.starting -= 1
        self._free(worker)

    async def _start(self) -> Worker:
        """A new worker process (its slot already counted in ``starting``)."""
        try:
            return await asyncio.to_thread(Worker, self.ctx, self.overlays)
        except BaseException:
            self._free(None)  # the slot goes to the next waiting request (this one's is released below)
            raise
        finally:
            self.starting -= 1

    def _free(self, worker: Worker | None) -> None:
        """Hand a worker (or, ``None``, the slot of a killed one) to the longest-waiting request of the lane
        whose turn it is (else of the other lane), else keep it."""
        for lane in (self.turn, not self.turn):
            queue = self.waiting[lane]
            while queue:
                handed = queue.popleft()
                if not handed.done():
                    if worker is None:
                        self.starting += 1  # the slot is reserved for the request that will start the worker
                    self.turn = not lane
                    handed.set_result(worker)
                    return
        if worker is not None:
            self.idle.append(worker)

    async def _wait(self, worker: Worker, deadline: float,
                    disconnected: Callable[[], Awaitable[bool]] | None) -> tuple[str, str]:
        loop = asyncio.get_running_loop()
        while True:  # wait first: most answers come within one POLL_S, and then nothing else is checked
            await _readable(loop, worker.conn, min(POLL_S, max(deadline - time.monotonic(), 0.0)))
            if worker.conn.poll():
                break
            if not worker.process.is_alive():
                raise RuntimeError(f"web worker {worker.process.pid} died (exit {worker.process.exitcode})")
            if time.monotonic() >= deadline:
                raise Timeout
            if disconnected is not None and await disconnected():
                raise Disconnected
        try:
            return worker.conn.recv()
        except (EOFError, OSError):
            worker.process.join(timeout=1)
            raise RuntimeError(f"web worker {worker.process.pid} died (exit {worker.process.exitcode})") from None

    def _kill(self, worker: Worker) -> None:
        pid = worker.process.pid
        worker.kill()
        self.killed.append((pid, time.monotonic()))

    def close(self) -> None:
        for worker in [*self.idle, *self.busy]:
            with contextlib.suppress(Exception):
                worker.kill()
        self.idle.clear()
        self.busy.clear()
