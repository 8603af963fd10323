"""The fleet event kernel: ordering by (time, priority, seq), coalesced scheduling, no time travel."""

import math

import pytest

from flopwatt.fleet.kernel import EventQueue, Priority


def drain(q: EventQueue) -> list:
    out = []
    while q:
        e = q.pop()
        out.append((e.time_s, e.priority.name, e.payload))
    return out


def test_events_come_out_by_time_then_priority_then_push_order():
    q = EventQueue()
    q.push(5.0, Priority.ARRIVAL, "a5")
    q.push(1.0, Priority.SCHEDULE, "s1")
    q.push(1.0, Priority.ARRIVAL, "a1-first")
    q.push(1.0, Priority.RELEASE, "r1")
    q.push(1.0, Priority.ARRIVAL, "a1-second")
    q.push(1.0, Priority.SERVICE, "v1")
    assert drain(q) == [(1.0, "RELEASE", "r1"), (1.0, "SERVICE", "v1"), (1.0, "ARRIVAL", "a1-first"),
                        (1.0, "ARRIVAL", "a1-second"), (1.0, "SCHEDULE", "s1"), (5.0, "ARRIVAL", "a5")]


def test_release_before_arrival_at_the_same_instant():
    """A job ending at t frees its devices before a job submitted at t asks for them."""
    q = EventQueue()
    q.push(10.0, Priority.ARRIVAL, "job B arrives")
    q.push(10.0, Priority.RELEASE, "job A ends")
    assert [e[2] for e in drain(q)] == ["job A ends", "job B arrives"]


def test_payloads_are_never_compared():
    q = EventQueue()
    q.push(1.0, Priority.ARRIVAL, {"unorderable": 1})
    q.push(1.0, Priority.ARRIVAL, {"unorderable": 2})
    assert [e[2]["unorderable"] for e in drain(q)] == [1, 2]


def test_schedule_now_coalesces_within_an_instant():
    q = EventQueue()
    q.push(2.0, Priority.ARRIVAL, "a")
    q.push(2.0, Priority.ARRIVAL, "b")
    seen = []
    while q:
        e = q.pop()
        seen.append(e.payload)
        if e.priority is not Priority.SCHEDULE:
            q.schedule_now("schedule")
    assert seen == ["a", "b", "schedule"]


def test_time_never_runs_backwards():
    q = EventQueue()
    q.push(3.0, Priority.ARRIVAL)
    q.pop()
    with pytest.raises(ValueError, match="before the current time"):
        q.push(2.0, Priority.ARRIVAL)
    with pytest.raises(ValueError):
        q.push(math.nan, Priority.ARRIVAL)
    assert q.now_s == 3.0 and q.peek_time_s() == math.inf
