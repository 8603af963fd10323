"""The web server under hostile input and load: bounded fields and bodies, NaN refused, 400s in the schema,
a byte-bounded cache, and a computation stopped (its worker process killed) at the deadline or when the
client goes away."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="web extra (fastapi) not installed")
from fastapi.testclient import TestClient  # noqa: E402

from flopwatt.server.app import MAX_BODY_BYTES, AnswerCache, create_app  # noqa: E402

SLOW_PLAN = {"workload": {"model": "gpt3-175b", "tokens": 300e9, "global_batch": [1536, 3072]},
             "menu": {"devices": [1024, 2048, 3072, 4096], "fabrics": ["ideal", "fat-tree", "rail-optimized"],
                      "stacks": ["megatron-core", "megatron-2022", "fsdp", "megascale"],
                      "sites": ["us-oregon", "fi-hamina"]}}
"""A search just under the web's configuration limit (~2M configurations; ~25 s on one core)."""
SHORT_TIMEOUT_S = 0.5


@pytest.fixture(scope="module")
def client():
    app = create_app(workers=1)
    yield TestClient(app)
    app.state.pool.close()


@pytest.mark.parametrize(("path", "body", "status"), [
    ("/v1/plan", {"workload": {"model": "gpt3-1.3b", "tokens": 1e9}, "output": {"top_k": -1}}, 422),
    ("/v1/plan", {"workload": {"model": "gpt3-1.3b", "tokens": 1e9}, "menu": {"devices": [2**30]}}, 422),
    ("/v1/plan", {"workload": {"model": "gpt3-1.3b", "tokens": 1e9}, "menu": {"sites": ["x"] * 65}}, 422),
    ("/v1/plan", {"workload": {"model": "gpt3-1.3b", "tokens": 1e9}, "menu": {"devices": list(range(1, 300))}},
     422),
    ("/v1/train", {"model": "x" * 600}, 422),
    ("/v1/train", {"site": "x" * 200}, 422),
    ("/v1/serve", {"input_len": 100, "output_len": 10, "devices": -1}, 422),
    ("/v1/serve/compare", {"accelerator": ["h100-sxm5-80gb"] * 33, "input_len": 100, "output_len": 10}, 422),
    ("/v1/fabric", {"endpoints": 2**40}, 422),
    ("/v1/fabric", {"endpoints": 1000, "topology": "torus", "torus": [2, 2]}, 400),
    ("/v1/reliability", {"devices": 10, "days": 1e9}, 422),
])
def test_every_field_is_bounded(client, path, body, status):
    response = client.post(path, json=body)
    assert response.status_code == status, response.text
    assert response.json()["detail"]


@pytest.mark.parametrize(("path", "text"), [
    ("/v1/train", '{"tokens": NaN}'), ("/v1/train", '{"devices": Infinity}'), ("/v1/train", '{"pue": -Infinity}'),
    ("/v1/reliability", '{"devices": 10, "days": NaN}'), ("/v1/reliability", '{"devices": 10, "days": 1, '
                                                           '"params": Infinity}'),
    ("/v1/serve", '{"input_len": NaN, "output_len": 10}'), ("/v1/fabric", '{"endpoints": NaN}'),
    ("/v1/plan", '{"workload": {"model": "gpt3-1.3b", "tokens": NaN}}'),
    ("/v1/plan", '{"workload": {"model": "gpt3-1.3b", "tokens": 1e9}, "constraints": {"budget_usd": NaN}}'),
])
def test_nan_and_infinity_in_a_body_are_4xx(client, path, text):
    response = client.post(path, content=text, headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500, response.text


def test_a_huge_body_is_refused_before_parsing(client):
    response = client.post("/v1/train", json={"model": "x" * 2_000_000})
    assert response.status_code == 413
    assert f"{MAX_BODY_BYTES:,}" in response.json()["detail"]


def test_every_computing_route_documents_its_400():
    schema = create_app().openapi()
    posts = {path: ops["post"] for path, ops in schema["paths"].items() if "post" in ops}
    assert len(posts) >= 6
    for path, op in posts.items():
        assert {"400", "408", "422"} <= set(op["responses"]), path


def test_the_cache_is_bounded_in_bytes():
    cache = AnswerCache(max_bytes=1000)
    for k in range(50):
        cache.put(("train", f"{k:04d}"), "x" * 90)
    assert cache.bytes <= 1000
    assert cache.get(("train", "0049")) == "x" * 90 and cache.get(("train", "0000")) is None
    cache.put(("train", "big"), "y" * 2000)  # larger than the whole cache: not kept
    assert cache.get(("train", "big")) is None and cache.bytes <= 1000


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_timeout_kills_the_computation():
    """408 at the deadline, and the worker doing the work is dead (its CPU free) within 1 s of it."""
    app = create_app(timeout_s=SHORT_TIMEOUT_S, workers=1)
    app.state.pool.warm()
    try:
        started = time.monotonic()
        response = TestClient(app).post("/v1/plan", json=SLOW_PLAN)
        assert response.status_code == 408, response.text
        (pid, reaped), = app.state.pool.killed
        assert _gone(pid)
        freed_after_deadline_s = reaped - (started + SHORT_TIMEOUT_S)
        print(f"worker {pid} killed {freed_after_deadline_s:.3f} s after the {SHORT_TIMEOUT_S} s deadline")
        assert freed_after_deadline_s < 1.0
        again = TestClient(app).post("/v1/reliability", json={"devices": 100, "days": 3})
        assert again.status_code == 200  # a fresh worker took its place
    finally:
        app.state.pool.close()


def test_a_client_that_goes_away_stops_its_computation():
    import uvicorn

    app = create_app(timeout_s=120, workers=1)
    app.state.pool.warm()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.05)
        import json

        body = json.dumps(SLOW_PLAN).encode()
        with socket.create_connection(("127.0.0.1", port)) as conn:
            conn.sendall(b"POST /v1/plan HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            for _ in range(600):  # until a worker is computing it
                if app.state.pool.busy:
                    break
                time.sleep(0.05)
            assert app.state.pool.busy and not app.state.pool.killed
        left = time.monotonic()
        for _ in range(100):
            if app.state.pool.killed:
                break
            time.sleep(0.05)
        (pid, reaped), = app.state.pool.killed
        print(f"worker {pid} killed {reaped - left:.3f} s after the client closed the connection")
        assert _gone(pid) and reaped - left < 1.0
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.pool.close()


def test_workers_use_the_catalogs_the_server_was_started_with(tmp_path):
    from flopwatt import catalog

    model = (Path(__file__).parent / "fixtures" / "catalog" / "my-model.toml").read_text(encoding="utf-8")
    fragment = tmp_path / "overlay.toml"
    fragment.write_text(model.replace("[tiny-llama-1b]", "[models.tiny-llama-1b]"), encoding="utf-8")
    body = {"model": "tiny-llama-1b", "accelerator": "h100-sxm5-80gb", "devices": 1, "input_len": 500,
            "output_len": 100}
    catalog.use_overlay(fragment)
    try:
        app = create_app(workers=1)
    finally:
        catalog.reset_overlays()
    try:
        response = TestClient(app).post("/v1/serve", json=body)
        assert response.status_code == 200, response.text
        assert response.json()["inputs"]["model"] == "tiny-llama-1b"
        plain = create_app(workers=1)
        assert TestClient(plain).post("/v1/serve", json=body).status_code == 400
        plain.state.pool.close()
    finally:
        app.state.pool.close()
