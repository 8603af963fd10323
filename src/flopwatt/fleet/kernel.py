"""The event kernel of the fleet simulation: a heap keyed ``(time, priority, seq)``.

Events at the same instant run in a fixed order of named priorities, then in the order they
were pushed (``seq``, a counter), so a run is reproducible whatever the payloads are (the same
shape as SimPy's ``core.py``, whose heap key is ``(time, priority, eid)``):

1. ``RELEASE``  a job ends: its devices return before anyone asks for them;
2. ``SERVICE``  an inference service's demand changes: services take devices before training;
3. ``ARRIVAL``  a job is submitted, or a deferred job becomes ready;
4. ``SCHEDULE`` the policy places waiting jobs, once, after every other event of that instant.

The kernel knows nothing of jobs or pools; :mod:`flopwatt.fleet.simulate` drives it.
"""

from __future__ import annotations

import heapq
import itertools
import math
from enum import IntEnum
from typing import Any, NamedTuple


class Priority(IntEnum):
    """Order of events that fall on the same instant (lower runs first)."""

    RELEASE = 0
    SERVICE = 1
    ARRIVAL = 2
    SCHEDULE = 3


class Event(NamedTuple):
    time_s: float
    priority: Priority
    seq: int
    payload: Any


class EventQueue:
    """A min-heap of events; ``pop`` returns the earliest by ``(time_s, priority, seq)``.

    The SCHEDULE event that :meth:`schedule_now` asks for is held beside the heap rather than in it (there
    is at most one: it is at the current instant) and comes out exactly where the heap would have put it:
    when its key ``(time_s, SCHEDULE, seq)`` is below the heap's least. It saves a heap push and pop at
    nearly every instant of a simulation."""

    __slots__ = ("_heap", "_seq", "now_s", "_scheduled_at", "_scheduled")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, int, Any]] = []  # plain tuples: cheaper than Event to build
        self._seq = itertools.count()
        self.now_s = 0.0
        self._scheduled_at = -math.inf
        self._scheduled: tuple[float, int, int, Any] | None = None

    def push(self, time_s: float, priority: Priority, payload: Any = None) -> None:
        """Add an event; events in the past are an error of the caller (time never runs backwards)."""
        if not time_s >= self.now_s:  # also catches NaN
            raise ValueError(f"event at {time_s!r} s is before the current time {self.now_s} s")
        heapq.heappush(self._heap, (float(time_s), priority, next(self._seq), payload))

    def schedule_now(self, payload: Any = None) -> None:
        """Ask for one SCHEDULE event at the current instant (repeated asks at one instant coalesce)."""
        if self._scheduled_at != self.now_s:
            self._scheduled_at = self.now_s
            if self._scheduled is not None:  # not reached by the simulator (it pops each before time moves on)
                heapq.heappush(self._heap, self._scheduled)
            self._scheduled = (self.now_s, Priority.SCHEDULE, next(self._seq), payload)

    def pop(self) -> Event:
        return Event(*self.pop_entry())

    def pop_entry(self) -> tuple[float, int, int, Any]:
        """``pop`` as a plain ``(time_s, priority, seq, payload)`` tuple (the simulator's hot loop)."""
        held, heap = self._scheduled, self._heap
        if held is not None and (not heap or heap[0][0] > held[0] or (heap[0][0] == held[0]
                                                                      and heap[0][1:3] > held[1:3])):
            self._scheduled = None
            entry = held
        else:
            entry = heapq.heappop(heap)
        self.now_s = entry[0]
        return entry

    def peek_time_s(self) -> float:
        first = self._heap[0][0] if self._heap else math.inf
        return first if self._scheduled is None else min(first, self._scheduled[0])

    def __len__(self) -> int:
        return len(self._heap) + (self._scheduled is not None)

    def __bool__(self) -> bool:
        return bool(self._heap) or self._scheduled is not None
