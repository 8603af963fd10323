"""Killable workers for the web server: each request's computation runs in a worker process that is
killed (and replaced) when the request's deadline passes or its client goes away, so an abandoned
request never keeps a CPU busy.

A worker is a ``forkserver`` child (a clean process, not a fork of the threaded server) that answers
``(endpoint, body) -> ("ok", text) | ("input", message)`` over a pipe; the user catalogs the server
was started with (``--catalog``) are applied in each worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

POLL_S = 0.05
"""How often a waiting request checks its worker, its deadline and its client."""


class Timeout(Exception):
    """The deadline passed: the worker was killed."""


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


class Pool:
    """At most ``size`` workers, started on demand; a worker busy past a deadline is killed, not waited for."""

    def __init__(self, size: int | None = None, overlays: list[str] | None = None) -> None:
        self.size = size or max(1, min(4, os.cpu_count() or 1))
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
        """``(status, text)`` of one request; raises Timeout or Disconnected after killing its worker."""
        deadline = time.monotonic() + timeout_s
        while self.starting + len(self.busy) >= self.size:  # all workers busy: wait (no loop-bound lock)
            if time.monotonic() >= deadline:
                raise Timeout
            await asyncio.sleep(POLL_S)
        if self.idle:
            worker = self.idle.pop()
        else:
            self.starting += 1
            try:
                worker = await asyncio.to_thread(Worker, self.ctx, self.overlays)
            finally:
                self.starting -= 1
        self.busy.add(worker)
        try:
            worker.conn.send((endpoint, body))
            result = await self._wait(worker, deadline, disconnected)
        except BaseException:
            self.busy.discard(worker)
            self._kill(worker)
            raise
        self.busy.discard(worker)
        self.idle.append(worker)
        return result

    async def _wait(self, worker: Worker, deadline: float,
                    disconnected: Callable[[], Awaitable[bool]] | None) -> tuple[str, str]:
        while not worker.conn.poll():
            if not worker.process.is_alive():
                raise RuntimeError(f"web worker {worker.process.pid} died (exit {worker.process.exitcode})")
            if time.monotonic() >= deadline:
                raise Timeout
            if disconnected is not None and await disconnected():
                raise Disconnected
            await asyncio.sleep(POLL_S)
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
