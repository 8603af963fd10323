"""HTTP API, schema-driven fuzzing, and the web page driven in a real (headless Chromium) browser."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

fastapi = pytest.importorskip("fastapi", reason="web extra (fastapi) not installed")
from fastapi.testclient import TestClient  # noqa: E402

from flopwatt.server.app import create_app  # noqa: E402

OUTPUT = Path(__file__).resolve().parents[1] / "test-output"


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app())


def test_train_endpoint_matches_the_cli(client):
    from flopwatt.cli import run_command

    response = client.post("/v1/train", json={"devices": 512, "global_batch": 512})
    assert response.status_code == 200
    cli_payload, _ = run_command(["train", "--devices", "512", "--global-batch", "512", "--json"])
    assert response.json()["metrics"]["mfu"] == pytest.approx(cli_payload["metrics"]["mfu"])


@pytest.mark.parametrize(("body", "status", "needle"), [
    ({"model": "gpt3-17"}, 400, "model: unknown id"),
    ({"model": "--help"}, 400, "unknown id"),
    ({"devices": 1000, "tp": 8, "pp": 8}, 400, "devices"),
    ({"devices": 0}, 422, "devices"),
    ({"config": "/etc/passwd"}, 422, "config"),
])
def test_bad_requests_are_4xx_naming_the_field(client, body, status, needle):
    response = client.post("/v1/train", json=body)
    assert response.status_code == status
    assert needle in str(response.json()["detail"])


def test_catalog_and_fabric_endpoints(client):
    assert client.get("/v1/catalog/models/gpt3-175b").json()["layers"] == 96
    assert client.get("/v1/catalog/models/--help").status_code == 400
    assert client.post("/v1/fabric", json={"endpoints": 65536, "topology": "fat-tree", "radix": 64,
                                           "switch": "eth-51t2-800g"}).json()["switches"] == 5120
    schema = client.get("/openapi.json").json()
    assert {"/v1/train", "/v1/fabric", "/v1/catalog/{kind}"} <= set(schema["paths"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    import uvicorn

    port = _free_port()
    config = uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


CHROMIUM = os.environ.get("FLOPWATT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def test_page_in_headless_chromium(server):
    """Fill the form, run an estimate, and check the numbers and the chart against the API's answer."""
    if CHROMIUM is None:
        pytest.fail("Chromium not found: .ci/run installs Debian's chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    import httpx

    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1024, "height": 800})
        page.goto(server)
        page.wait_for_function("document.querySelectorAll('#train-model option').length > 10")
        page.select_option("#train-model", "llama3-8b")
        page.fill("#train-devices", "256")
        page.fill("#train-global_batch", "512")
        page.click("#train-run")
        page.wait_for_selector("#train-result:not([hidden])", timeout=30000)
        mfu_text = page.text_content("td[data-key=mfu]").removesuffix("%")
        bars = page.locator("#chart rect").count()
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUTPUT / "web-page.png"), full_page=True)
        browser.close()
    api = httpx.post(f"{server}/v1/train", json={"model": "llama3-8b", "accelerator": "a100-sxm4-80gb",
                                                 "devices": 256, "global_batch": 512, "tokens": 300e9,
                                                 "site": "us-virginia", "cooling": "air",
                                                 "stack": "megatron-core"}, timeout=60).json()
    assert float(mfu_text) / 100 == pytest.approx(api["metrics"]["mfu"], rel=1e-2)
    assert bars >= 3
    assert (OUTPUT / "web-page.png").stat().st_size > 10_000


def test_plan_endpoint_is_bounded_and_matches_the_library(client):
    body = {"workload": {"model": "llama3-8b", "tokens": 1e12, "global_batch": 512},
            "menu": {"devices": [256], "sites": ["us-oregon", "cn-guizhou"]}}
    response = client.post("/v1/plan", json=body)
    assert response.status_code == 200
    from flopwatt.search import config, engine

    report = engine.search(config.from_dict(body), workers=1)
    assert response.json()["configurations"] == report.configurations
    assert len(response.json()["pareto_front"]) == len(report.front)
    huge = {"workload": {"model": "llama3-8b", "tokens": 1e12},
            "menu": {"devices": {"min": 8, "max": 65536}, "sites": ["us-oregon", "cn-guizhou", "fi-hamina"],
                     "cooling": ["air", "direct-liquid", "immersion"], "fabrics": ["ideal", "rail-only"],
                     "stacks": ["megatron-core", "megatron-2022", "fsdp"]}}
    response = client.post("/v1/plan", json=huge)
    assert response.status_code == 400 and "configurations per request" in response.json()["detail"]
    assert client.post("/v1/plan", json={"workload": {"model": 5, "tokens": "x"}}).status_code == 422


def test_serve_endpoint_matches_the_cli_and_names_bad_fields(client):
    from flopwatt.cli import run_command

    body = {"model": "llama2-70b", "accelerator": "h200-sxm-141gb", "devices": 8, "input_len": 222, "output_len": 294}
    response = client.post("/v1/serve", json=body)
    assert response.status_code == 200, response.text
    cli_payload, _ = run_command(["serve", "--model", "llama2-70b", "--accelerator", "h200-sxm-141gb", "--devices", "8",
                                  "--input-len", "222", "--output-len", "294", "--json"])
    assert response.json()["metrics"]["output_tokens_per_s"] == pytest.approx(
        cli_payload["metrics"]["output_tokens_per_s"])
    assert response.json()["plan"] == cli_payload["plan"]
    unknown = client.post("/v1/serve", json={**body, "accelerator": "h2000"})
    assert unknown.status_code == 400 and "accelerator" in unknown.text
    floor = client.post("/v1/serve", json={**body, "tpot_slo_s": 1e-4})
    assert floor.status_code == 200 and not floor.json()["feasible"] and "fastest TPOT possible" in floor.text
    assert client.post("/v1/serve", json={**body, "output_len": 0}).status_code == 422
