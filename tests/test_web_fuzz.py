"""Schema-driven fuzzing of the HTTP API (schemathesis): no request may cause a server error (5xx), and memory
stays within stated bounds over the whole run (the answer cache in bytes, each worker process's RSS)."""

from __future__ import annotations

from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis not installed")
pytest.importorskip("fastapi", reason="web extra (fastapi) not installed")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from flopwatt.server.app import CACHE_BYTES, create_app  # noqa: E402

APP = create_app()
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
WORKER_RSS_BOUND_BYTES = 1.5 * 2**30
"""Stated bound on one worker process's resident memory over the fuzz run: the largest request the schema
admits (a plan search of up to 2 million configurations, evaluated in chunks) stays far below it."""


def _rss_bytes(pid: int | str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


@schema.parametrize()
@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_no_server_error(case):
    case.call_and_validate(checks=[not_a_server_error])


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_memory_stays_within_its_bound_after_the_fuzz_run():
    """Runs after the fuzz cases (file order). The server process keeps only its answer cache, bounded in bytes
    (the test process itself also holds every other test's state, so its own size says nothing); the
    computations run in the workers, each measured against the stated bound."""
    workers = [w.process.pid for w in [*APP.state.pool.idle, *APP.state.pool.busy] if w.process.is_alive()]
    assert workers, "the fuzz run left no worker to measure"
    assert 0 < APP.state.cache.bytes <= CACHE_BYTES
    assert max(_rss_bytes(pid) for pid in workers) <= WORKER_RSS_BOUND_BYTES
    APP.state.pool.close()
