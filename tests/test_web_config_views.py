"""The fleet and capacity views and cancelling a long request, driven in headless Chromium against the API's JSON."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="web extra (fastapi) not installed")
pytest.importorskip("playwright.sync_api")
httpx = pytest.importorskip("httpx")

import test_web_views as views  # noqa: E402
from test_web_views import CONTRAST, LABELS, _api, _raw, _shot, _start, _submit  # noqa: E402

browser, page, server = views.browser, views.page, views.server
"""The planner page's fixtures: a server on a free port, headless Chromium, a fresh page failing on JS errors."""

ROOT = Path(__file__).resolve().parents[1]
FLEET = {"example": "3site", "max_jobs": 40, "policies": ["fifo", "carbon-aware"]}
"""What the fleet tests ask (a few trace jobs: the figures are the API's whatever their size)."""
BARS = "gs => Object.fromEntries(gs.map(g => [g.dataset.part, +g.dataset.value]))"


def _fleet_form(page, max_jobs: int = FLEET["max_jobs"]) -> None:
    page.click("#tab-fleet")
    page.select_option("#fleet-example", FLEET["example"])
    page.select_option("#fleet-policies", FLEET["policies"])
    page.fill("#fleet-max_jobs", str(max_jobs))


def test_fleet_view_figures_match_the_api(page, server):
    _fleet_form(page)
    _submit(page, "fleet")
    api = _api(server, "/v1/fleet", FLEET)
    rows = page.eval_on_selector_all("#fleet-table tbody tr", "rs => rs.map(r => r.cells[0].textContent)")
    assert rows == FLEET["policies"]
    for i, name in enumerate(FLEET["policies"]):
        run = api["runs"][name]
        row = f"#fleet-table tbody tr:nth-child({i + 1})"
        assert _raw(page, f"{row} td[data-key=makespan_s]") == pytest.approx(run["training"]["makespan_s"])
        assert _raw(page, f"{row} td[data-key=total_mwh]") == pytest.approx(run["energy"]["total_mwh"])
        assert _raw(page, f"{row} td[data-key=utilisation]") == pytest.approx(run["utilisation"])
        assert page.text_content(f"{row} td[data-key=utilisation]") == f"{100 * run['utilisation']:.3g}%"
    assert page.eval_on_selector_all("#fleet-tco2e g.bar", BARS) == pytest.approx(
        {n: api["runs"][n]["energy"]["total_tco2e"] for n in FLEET["policies"]})
    energy = api["runs"]["fifo"]["energy"]
    assert page.eval_on_selector_all("#fleet-energy g.bar", BARS) == pytest.approx(
        {k: energy[f"{k}_mwh"] for k in ("training", "serving", "idle") if energy[f"{k}_mwh"] > 0})
    page.select_option("#fleet-policy", "carbon-aware")
    assert "carbon-aware" in page.text_content("#fleet-breakdown h3")
    pools = page.eval_on_selector_all("#fleet-pools g.bar", BARS)
    assert pools == pytest.approx({p: v["utilisation"] for p, v in api["runs"]["carbon-aware"]["pools"].items()
                                   if v["utilisation"] > 0})
    assert page.locator("#fleet-result .assumptions li").count() == len(api["assumptions"])
    assert "first 40 jobs" in page.text_content("#fleet-result .assumptions")
    title = page.get_attribute("#fleet-result details[data-kind=accelerators][data-id=h100-sxm5-80gb] summary", "title")
    assert "source:" in title and "retrieved:" in title
    _shot(page, "fleet")


def test_fleet_bad_config_is_shown_at_the_config_in_the_loaders_words(page, server):
    _fleet_form(page)
    _submit(page, "fleet")
    bad = (ROOT / "examples" / "fleet-3site.toml").read_text().replace("[sites.us-texas]", "[sites.us-texsa]")
    page.fill("#fleet-config_toml", bad)
    page.click("#fleet-run")
    page.wait_for_selector("#fleet-config_toml[aria-invalid=true]")
    detail = httpx.post(f"{server}/v1/fleet", json={**FLEET, "example": None, "config_toml": bad},
                        timeout=60).json()["detail"]
    assert detail.startswith("[sites.us-texsa]: unknown id")
    assert page.text_content("#fleet-config_toml-error") == detail
    assert page.is_hidden("#fleet-result") and page.locator("#fleet-result *").count() == 0
    _shot(page, "fleet-error")
    page.fill("#fleet-config_toml", "")
    page.fill("#fleet-max_jobs", "0")
    page.press("#fleet-max_jobs", "Enter")  # keyboard submit; the bound is the request model's (422)
    page.wait_for_selector("#fleet-max_jobs[aria-invalid=true]")
    assert "greater than or equal to 1" in page.text_content("#fleet-max_jobs-error")
    assert page.is_hidden("#fleet-result")


def test_fleet_upload_url_state_and_csv(page, server, browser):
    _fleet_form(page, max_jobs=30)
    page.set_input_files("#fleet-config_file", str(ROOT / "examples" / "fleet-3site.toml"))
    page.wait_for_function("document.querySelector('#fleet-config_toml').value.includes('[pools.texas-h100]')")
    _submit(page, "fleet")
    assert "30 training jobs" in page.text_content("#fleet-summary")
    assert "the uploaded config" in page.text_content("#fleet-result .assumptions")
    url = page.url
    assert "view=fleet" in url and "max_jobs=30" in url and "config_toml" not in url
    with page.expect_download() as info:
        page.click("#fleet-download-csv")
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text())))
    assert [r["policy"] for r in rows] == FLEET["policies"]
    with page.expect_download() as info:
        page.click("#fleet-download-html")
    report = Path(info.value.path()).read_text()
    assert report.startswith("<!doctype html>") and "flopwatt fleet: three-site (30 jobs)" in report
    other = browser.new_page()
    other.goto(url)
    other.wait_for_selector("#fleet-result:not([hidden])", timeout=60000)
    assert _raw(other, "#fleet-table tbody tr td[data-key=makespan_s]") == pytest.approx(float(
        rows[0]["training.makespan_s"]))
    other.close()


CAPACITY = {"example": "russia"}


def test_capacity_view_figures_match_the_api(page, server):
    page.click("#tab-capacity")
    page.select_option("#capacity-example", CAPACITY["example"])
    assert "Moscow" in page.text_content("#capacity-example-summary")
    _submit(page, "capacity")
    api = _api(server, "/v1/capacity", CAPACITY)
    periods = [p["period"] for p in api["periods"]]
    shown = page.eval_on_selector_all("#capacity-table tbody tr", "rs => rs.map(r => r.cells[0].textContent)")
    assert shown == periods
    for i, p in enumerate(api["periods"]):
        row = f"#capacity-table tbody tr:nth-child({i + 1})"
        for key in ("devices", "mw_facility_peak", "twh_facility", "tco2e"):
            assert _raw(page, f"{row} td[data-key={key}]") == pytest.approx(p["totals"][key])
        if p["totals"]["capex_usd"] is not None:
            assert page.text_content(f"{row} td[data-key=capex_usd]").startswith("$")
    assert page.eval_on_selector_all("#capacity-twh g.bar", BARS) == pytest.approx(
        {p["period"]: p["totals"]["twh_facility"] for p in api["periods"] if p["totals"]["twh_facility"] > 0})
    last = api["periods"][-1]
    page.select_option("#capacity-period", last["period"])
    assert page.eval_on_selector_all("#capacity-site-mw g.bar", BARS) == pytest.approx(
        {k: s["mw_facility_peak"] for k, s in last["sites"].items() if s["mw_facility_peak"] > 0})
    assert page.locator("#capacity-result .assumptions li").count() == len(api["assumptions"])
    title = page.get_attribute("#capacity-result details[data-kind=sites] summary", "title")
    assert "source:" in title
    with page.expect_download() as info:
        page.click("#capacity-download-csv")
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text())))
    assert len(rows) == sum(len(p["sites"]) for p in api["periods"])
    _shot(page, "capacity")


def test_capacity_bad_config_and_accessibility(page, server):
    page.click("#tab-capacity")
    _submit(page, "capacity")
    page.click("#capacity-edit-example")
    text = page.input_value("#capacity-config_toml")
    assert "[capacity]" in text
    page.fill("#capacity-config_toml", text.replace("step = \"year\"", "step = \"month\""))
    page.click("#capacity-run")
    page.wait_for_selector("#capacity-config_toml[aria-invalid=true]")
    expected = "[capacity].step: expected one of year, quarter, got 'month'"
    assert page.text_content("#capacity-config_toml-error") == expected
    assert page.is_hidden("#capacity-result") and page.locator("#capacity-result *").count() == 0
    assert page.evaluate(LABELS) == []
    assert page.evaluate(CONTRAST) == []


def test_fleet_accessibility_basics(page):
    _fleet_form(page)
    _submit(page, "fleet")
    assert page.evaluate(LABELS) == []
    assert page.evaluate(CONTRAST) == []


PLAN = {"workload": {"model": "llama3-8b", "tokens": 1e12, "global_batch": [512, 1024]},
        "menu": {"accelerators": ["a100-sxm4-80gb", "h100-sxm5-80gb"], "devices": [256, 512, 1024],
                 "sites": ["us-oregon", "cn-guizhou"]}}


def test_plan_progress_streams_parts_then_the_plan_answer():
    """The parts merged by the server give /v1/plan's answer exactly (no cache: both are computed)."""
    from fastapi.testclient import TestClient

    from flopwatt.server.app import create_app

    app = create_app(cache_bytes=0, timeout_s=120)
    try:
        client = TestClient(app)
        whole = client.post("/v1/plan", json=PLAN)
        lines = [json.loads(x) for x in client.post("/v1/plan/progress", json=PLAN).text.splitlines()]
        steps = [x for x in lines if "done" in x]
        assert [x["done"] for x in steps] == list(range(len(steps))) and steps[-1]["done"] == steps[0]["total"] > 1
        assert steps[0]["configurations"] == whole.json()["configurations"]
        assert lines[-1] == {"result": whole.json()}
        bad = client.post("/v1/plan/progress", json={**PLAN, "menu": {**PLAN["menu"], "sites": ["atlantis"]}})
        assert bad.status_code == 400 and bad.json()["detail"] == client.post(
            "/v1/plan", json={**PLAN, "menu": {**PLAN["menu"], "sites": ["atlantis"]}}).json()["detail"]
    finally:
        app.state.pool.close()


def test_plan_progress_timeout_kills_the_parts():
    """Past the deadline the stream ends with a 408 line and the workers of the running parts are killed."""
    from fastapi.testclient import TestClient

    from flopwatt.server.app import create_app

    app = create_app(cache_bytes=0, timeout_s=120)
    try:
        client = TestClient(app)
        wider = {**PLAN, "workload": {**PLAN["workload"], "global_batch": [256, 384, 512, 768, 1024, 1536, 2048,
                                                                          3072]}}
        assert client.post("/v1/plan/progress", json=wider).status_code == 200  # the workers keep its set-up
        app.state.timeout_s = 0.05  # a small share of the whole search (about 0.9 s on 2 idle cores)
        lines = [json.loads(x) for x in client.post("/v1/plan/progress", json=wider).text.splitlines()]
        assert lines[-1]["error"]["status"] == 408 and "stopped" in lines[-1]["error"]["detail"]
        assert app.state.pool.killed and not app.state.pool.busy
    finally:
        app.state.pool.close()


def test_cancel_stops_the_servers_work(browser):
    """A plan search cancelled from the page after some of its parts: the status says so, no result shows,
    the workers computing its parts are killed and none stays busy."""
    srv, thread, url = _start()
    try:
        pool = srv.config.app.state.pool
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector("body[data-ready=true]")
        page.click("#tab-plan")
        page.select_option("#plan-accelerators", ["a100-sxm4-80gb", "h100-sxm5-80gb", "h200-sxm-141gb", "mi300x"])
        page.fill("#plan-devices", ",".join(str(64 * k) for k in range(1, 10)))
        page.fill("#plan-global_batch", "256,512,1024")
        page.click("#plan-run")
        page.wait_for_function("(document.querySelector('#plan-progress') || {}).value >= 1", timeout=60000)
        assert " parts of " in page.text_content("#plan-elapsed")
        killed = len(pool.killed)
        page.click("#plan-cancel")
        page.wait_for_function("document.querySelector('#plan-status').textContent.startsWith('Cancelled')")
        deadline = time.monotonic() + 10
        while (len(pool.killed) == killed or pool.busy) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(pool.killed) > killed, "no worker computing the cancelled search was stopped"
        assert not pool.busy, "a worker is still computing the cancelled search"
        assert page.is_hidden("#plan-result") and page.locator("#plan-result *").count() == 0
        page.close()
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
