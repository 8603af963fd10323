"""The web server's serving path: workers started before the first request, answers serialised in one walk."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="web extra (fastapi) not installed")
from fastapi.testclient import TestClient  # noqa: E402

from flopwatt.server.app import _finite, _json_default, answer, create_app  # noqa: E402


def test_workers_start_before_the_first_request():
    app = create_app(workers=2)
    assert not app.state.pool.idle  # nothing runs until the app is served
    try:
        with TestClient(app) as client:
            started = list(app.state.pool.idle)
            assert len(started) == 2 and all(w.process.is_alive() for w in started)
            assert client.post("/v1/reliability", json={"devices": 100, "days": 3}).status_code == 200
            assert set(app.state.pool.idle) == set(started)  # the request was answered by a started worker
        with TestClient(app):  # a later lifespan (a client per request) keeps the same workers
            assert set(app.state.pool.idle) == set(started)
    finally:
        app.state.pool.close()


def _old_chain(value):
    """The serialisation this walk replaced: dumps with numpy scalars, loads, non-finite to null, dumps."""
    def finite(v):
        if isinstance(v, float):
            return v if math.isfinite(v) else None
        if isinstance(v, dict):
            return {k: finite(x) for k, x in v.items()}
        return [finite(x) for x in v] if isinstance(v, list) else v
    return json.dumps(finite(json.loads(json.dumps(value, default=_json_default))), allow_nan=False)


@pytest.mark.parametrize("value", [
    {"a": (1, np.float32(2.5), np.int64(3), float("nan"), np.float64("inf"), np.bool_(True), -0.0)},
    {1: [None, "x", np.array([4.0]), True], 2.5: {"z": [float("-inf"), 1e300, 5e-324]}, "k": ()},
    [np.float64(0.1), np.int32(-7), "Infinity", {"nested": ({"t": np.float16(1.5)},)}],
])
def test_one_walk_gives_the_bytes_of_dumps_loads_dumps(value):
    assert json.dumps(_finite(value), allow_nan=False) == _old_chain(value)


def test_a_training_answer_is_plain_json_with_unknowns_as_null():
    body = json.dumps({"model": "llama3-8b", "devices": 64, "global_batch": 64, "tokens": 1e10, "advise": False})
    from flopwatt.api.requests import TrainRequest

    canonical = TrainRequest.model_validate_json(body).model_dump_json()
    text = answer("train", canonical)
    from flopwatt import api

    expected = api.train(TrainRequest.model_validate_json(canonical)).payload()
    assert text == _old_chain(expected)
    assert json.loads(text)["inputs"]["tokens"] == 1e10


def test_an_object_json_cannot_write_is_still_refused():
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        _finite({"x": object()})


def test_a_full_cache_holds_no_more_memory_than_its_bound():
    import tracemalloc

    from flopwatt.server.app import AnswerCache

    pad_key, pad_answer = "x" * 560, "y" * 3650  # the sizes of a /v1/train key and answer
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        cache = AnswerCache(max_bytes=2**20)
        for i in range(3000):
            cache.put(("train", f'{{"tokens":{i},"pad":"{pad_key}"}}'), f'{{"tokens":{i},"pad":"{pad_answer}"}}')
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert 200 < len(cache.entries) < 3000  # full: old answers were dropped
    assert held <= cache.max_bytes and cache.memory_bytes() <= cache.max_bytes


def test_requests_waiting_for_a_worker_are_served_first_come_first_served():
    import asyncio

    from flopwatt.server.pool import Pool

    async def main() -> list[int]:
        pool = Pool(1)
        pool.warm()
        order: list[int] = []

        async def one(i: int) -> None:
            status, _ = await pool.run("reliability", json.dumps({"devices": 100 + i, "days": 3}), 60)
            assert status == "ok"
            order.append(i)

        try:
            await asyncio.gather(*(asyncio.create_task(one(i)) for i in range(12)))
        finally:
            pool.close()
        return order

    assert asyncio.run(main()) == list(range(12))


def test_a_request_whose_client_left_while_it_waited_kills_no_worker():
    """It gives its worker, untouched (its caches kept), to the next request instead of computing."""
    import asyncio

    from flopwatt.server.pool import Disconnected, Pool

    async def gone() -> bool:
        return True

    async def main() -> tuple[list, list, int, int]:
        pool = Pool(1)
        pool.warm()
        pid = pool.idle[0].process.pid
        body = json.dumps({"devices": 100, "days": 3})
        try:
            results = await asyncio.gather(pool.run("reliability", body, 60),  # holds the only worker
                                           pool.run("reliability", body, 60, gone),  # waits; its client left
                                           pool.run("reliability", body, 60), return_exceptions=True)
            return results, pool.killed, pid, pool.idle[0].process.pid
        finally:
            pool.close()

    results, killed, before, after = asyncio.run(main())
    assert results[0][0] == "ok" and isinstance(results[1], Disconnected) and results[2][0] == "ok"
    assert not killed and before == after


SLOW_PLAN = {"workload": {"model": "gpt3-175b", "tokens": 300e9, "global_batch": [1536, 3072]},
             "menu": {"devices": [1024, 2048, 3072, 4096], "fabrics": ["ideal", "fat-tree", "rail-optimized"],
                      "stacks": ["megatron-core", "megatron-2022", "fsdp", "megascale"]}}
"""A search of several seconds (it holds the only worker while another request waits)."""


def test_a_request_that_never_got_a_worker_is_busy_not_a_stopped_computation():
    import asyncio

    from flopwatt.server.pool import Busy, Pool

    async def main() -> tuple[type, list]:
        pool = Pool(1)
        pool.warm()
        try:
            slow = asyncio.create_task(pool.run("plan", json.dumps(SLOW_PLAN), 60))
            await asyncio.sleep(0.2)  # the search holds the worker
            try:
                await pool.run("reliability", json.dumps({"devices": 100, "days": 3}), 0.3)
                raised: type = type(None)
            except Busy:
                raised = Busy
            killed_while_waiting = list(pool.killed)
            slow.cancel()
            await asyncio.gather(slow, return_exceptions=True)
            return raised, killed_while_waiting
        finally:
            pool.close()

    raised, killed = asyncio.run(main())
    assert raised is Busy and not killed


def test_busy_is_a_503_with_retry_after():
    from flopwatt.server import pool
    from flopwatt.server.app import RETRY_AFTER_S

    class Full:
        async def run(self, *args, **kwargs):
            raise pool.Busy

    app = create_app(workers=1, cache_bytes=0)
    app.state.pool = Full()
    response = TestClient(app).post("/v1/train", json={"devices": 64, "global_batch": 64})
    assert response.status_code == 503 and response.headers["retry-after"] == str(RETRY_AFTER_S)
    assert "busy" in response.json()["detail"]
    assert "503" in app.openapi()["paths"]["/v1/train"]["post"]["responses"]


def test_quick_requests_take_turns_with_a_search_s_queued_parts():
    """One worker, held; three long requests queue, then two quick ones: the lanes alternate (FIFO within
    each), so a quick estimate waits for at most one long request, not for every queued part."""
    import asyncio

    from flopwatt.server.pool import Pool

    quick = json.dumps({"devices": 100, "days": 3})
    long = json.dumps({"endpoints": 4096, "topology": "fat-tree", "radix": 64, "switch": "eth-51t2-800g"})

    async def main() -> list[str]:
        pool = Pool(1, long_endpoints=frozenset({"fabric"}))
        pool.warm()
        order: list[str] = []

        async def one(name: str, endpoint: str, body: str) -> None:
            status, _ = await pool.run(endpoint, body, 60)
            assert status == "ok"
            order.append(name)

        jobs = [("A", "reliability", quick), ("L1", "fabric", long), ("L2", "fabric", long), ("L3", "fabric", long),
                ("Q1", "reliability", quick), ("Q2", "reliability", quick)]
        try:
            await asyncio.gather(*(asyncio.create_task(one(*job)) for job in jobs))
        finally:
            pool.close()
        return order

    assert asyncio.run(main()) == ["A", "Q1", "L1", "Q2", "L2", "L3"]


def test_the_worker_pipe_stays_blocking_after_a_wait_under_uvloop():
    """uvloop's add_reader makes a file non-blocking; an answer larger than one write (over 16 KiB, an HTML
    report) then failed half-way through recv ('web worker died')."""
    import multiprocessing
    import os

    uvloop = pytest.importorskip("uvloop", reason="uvloop not installed")
    from flopwatt.server.pool import _readable

    ours, theirs = multiprocessing.Pipe()
    loop = uvloop.new_event_loop()
    try:
        theirs.send("x" * 100_000)
        loop.run_until_complete(_readable(loop, ours, 5.0))
        assert os.get_blocking(ours.fileno())
        assert ours.recv() == "x" * 100_000
    finally:
        loop.close()
        ours.close()
        theirs.close()
