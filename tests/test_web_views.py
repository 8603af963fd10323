"""The planner page driven in headless Chromium: each view against the API's own JSON, errors, state, a11y."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="web extra (fastapi) not installed")
sync_api = pytest.importorskip("playwright.sync_api")
httpx = pytest.importorskip("httpx")

from flopwatt.server.app import create_app, serve_banner  # noqa: E402

OUTPUT = Path(__file__).resolve().parents[1] / "test-output"
CHROMIUM = os.environ.get("FLOPWATT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def _start(token: str | None = None):
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(token=token), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    return srv, thread, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def server():
    srv, thread, url = _start()
    yield url
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.fail("Chromium not found: .ci/run installs Debian's chromium (apt-get install chromium)")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    """A fresh page on the planner; fails the test on any JavaScript error or request off this server."""
    context = browser.new_context(viewport={"width": 1100, "height": 900}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda req: None if req.url.startswith((server, "blob:", "data:"))
            else errors.append(f"off-server request {req.url}"))
    page.goto(server)
    page.wait_for_selector("body[data-ready=true]")
    yield page
    context.close()
    assert not errors, errors


TRAIN_FORM = {"accelerator": "a100-sxm4-80gb", "tokens": 300e9, "site": "us-virginia", "cooling": "air",
              "stack": "megatron-core"}
"""What the train form sends besides the fields a test sets (the page names every select)."""
BARS = "gs => gs.map(g => [g.dataset.part, +g.dataset.value])"


def _api(server: str, path: str, body: dict) -> dict:
    return httpx.post(f"{server}{path}", json=body, timeout=60).json()


def _submit(page, view: str) -> None:
    page.click(f"#{view}-run")
    page.wait_for_selector(f"#{view}-result:not([hidden])", timeout=60000)


def _shot(page, name: str) -> None:
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / f"web-{name}.png"), full_page=True)


def _raw(page, selector: str) -> float:
    return float(page.get_attribute(selector, "data-value"))


def test_train_view_figures_match_the_api(page, server):
    page.select_option("#train-model", "llama3-8b")
    page.fill("#train-devices", "256")
    page.fill("#train-global_batch", "512")
    _submit(page, "train")
    api = _api(server, "/v1/train", {**TRAIN_FORM, "model": "llama3-8b", "devices": 256, "global_batch": 512})
    assert _raw(page, "#train-metrics td[data-key=mfu]") == pytest.approx(api["metrics"]["mfu"])
    assert page.text_content("#train-metrics td[data-key=mfu]") == f"{100 * api['metrics']['mfu']:.1f}%"
    parts = {k.split("/", 1)[1]: v for k, v in api["time"].items() if k != "time/step" and v > 0}
    drawn = page.eval_on_selector_all("#chart g.bar", BARS)
    assert dict(drawn) == pytest.approx(parts)
    compute_share = 100 * api["time"]["time/compute"] / api["time"]["time/step"]
    assert f"({compute_share:.3g}%)" in page.text_content("#chart g[data-part=compute]")
    memory = page.eval_on_selector_all("#train-memory g.bar", "gs => gs.map(g => g.dataset.part)")
    assert "weights" in memory and "total" not in memory
    power = dict(page.eval_on_selector_all("#train-power g.bar", BARS))
    assert power == pytest.approx({k.split("/")[1]: api["footprint"][k] for k in ("power/devices_w", "power/hosts_w",
                                                                                    "power/network_w")
                                   if api["footprint"].get(k, 0) > 0})
    money = dict(page.eval_on_selector_all("#train-money g.bar", BARS))
    assert money["energy_usd"] == pytest.approx(api["footprint"]["money/energy_usd"])
    assert page.locator(".assumptions li").count() == len(api["assumptions"])
    source = page.get_attribute("details[data-kind=accelerators] summary", "title")
    assert "source:" in source and "retrieved:" in source
    _shot(page, "train")


def test_bad_input_is_shown_next_to_the_field_and_clears_the_result(page, server):
    page.fill("#train-devices", "256")
    page.fill("#train-global_batch", "512")
    _submit(page, "train")
    page.select_option("#train-model", "gpt3-175b")
    page.fill("#train-devices", "0")
    page.press("#train-devices", "Enter")  # keyboard submit
    page.wait_for_selector("#train-devices[aria-invalid=true]")
    assert page.is_hidden("#train-result") and page.locator("#train-result *").count() == 0
    assert "devices" in page.text_content("#train-devices-error")
    assert "greater than or equal to 1" in page.text_content("#train-devices-error")  # pydantic's words (422)
    page.fill("#train-devices", "1000")
    page.fill("#train-tp", "8")
    page.fill("#train-pp", "8")
    page.click("#train-run")
    page.wait_for_selector("#train-devices[aria-invalid=true]")
    detail = httpx.post(f"{server}/v1/train", json={"model": "gpt3-175b", "devices": 1000, "tp": 8, "pp": 8,
                                                      "global_batch": 512}, timeout=60).json()["detail"]
    assert page.text_content("#train-devices-error") == detail  # the API's words (400)
    assert page.is_hidden("#train-result")
    _shot(page, "error")


def test_out_of_order_responses_never_show_a_stale_result(page, server):
    """The first request's answer is held back until after the second's: the page keeps the second."""
    page.evaluate("""() => { const real = window.fetch; let first = true;
        window.fetch = async (...a) => {
          const slow = first && String(a[0]).includes('/v1/train'); if (slow) first = false;
          const r = await real(...a); if (slow) await new Promise(ok => setTimeout(ok, 1500)); return r; }; }""")
    page.fill("#train-devices", "128")
    page.fill("#train-global_batch", "512")
    page.click("#train-run")
    page.fill("#train-devices", "512")
    page.click("#train-run")
    page.wait_for_selector("#train-result:not([hidden])", timeout=60000)
    page.wait_for_timeout(2500)
    second = _api(server, "/v1/train", {**TRAIN_FORM, "devices": 512, "global_batch": 512})
    first = _api(server, "/v1/train", {**TRAIN_FORM, "devices": 128, "global_batch": 512})
    assert first["metrics"]["tokens_per_s"] != pytest.approx(second["metrics"]["tokens_per_s"])
    shown = page.eval_on_selector_all("td[data-key=tokens_per_s]", "ts => ts.map(t => +t.dataset.value)")
    assert shown == [pytest.approx(second["metrics"]["tokens_per_s"])]


def test_serve_and_compare_views(page, server):
    page.click("#tab-serve")
    page.select_option("#serve-accelerator", "h200-sxm-141gb")
    page.fill("#serve-input_len", "222")
    page.fill("#serve-output_len", "294")
    _submit(page, "serve")
    api = _api(server, "/v1/serve", {"model": "llama2-70b", "accelerator": "h200-sxm-141gb", "devices": 8,
                                     "input_len": 222, "output_len": 294})
    assert _raw(page, "td[data-key=output_tokens_per_s]") == pytest.approx(api["metrics"]["output_tokens_per_s"])
    assert "$" in page.text_content("td[data-key=usd_per_million_output_tokens]")
    assert page.locator("#serve-time g.bar").count() >= 3
    _shot(page, "serve")
    page.click("#tab-compare")
    page.select_option("#compare-accelerator", ["h100-sxm5-80gb", "h200-sxm-141gb", "a100-sxm4-80gb"])
    _submit(page, "compare")
    api = _api(server, "/v1/serve/compare", {"model": "llama2-70b", "devices": [8], "input_len": 2048,
                                             "output_len": 256, "accelerator": ["a100-sxm4-80gb", "h100-sxm5-80gb",
                                                                                "h200-sxm-141gb"]})
    shown = page.eval_on_selector_all("#compare-table tbody tr", "rs => rs.map(r => [r.cells[0].textContent, "
                                      "r.querySelector('[data-key=output_tokens_per_s]').dataset.value])")
    expected = {r["inputs"]["accelerator"]: r["metrics"].get("output_tokens_per_s") for r in api}
    assert {a: float(v) for a, v in shown if v} == pytest.approx({a: v for a, v in expected.items() if v})
    _shot(page, "compare")


def test_fabric_view_bill_of_materials(page, server):
    page.click("#tab-fabric")
    page.fill("#fabric-endpoints", "8192")
    _submit(page, "fabric")
    api = _api(server, "/v1/fabric", {"endpoints": 8192, "topology": ["fat-tree", "rail-optimized", "dragonfly"]})
    switches = page.eval_on_selector_all("#fabric-table td[data-key=switches]", "ts => ts.map(t => +t.dataset.value)")
    assert switches == [d["switches"] for d in api]
    parts = page.eval_on_selector_all("table.bom[data-topology=fat-tree] tbody tr",
                                      "rs => rs.map(r => r.cells[0].textContent)")
    assert parts == list(api[0]["bom"]["parts"])
    title = page.get_attribute("#fabric-result details[data-kind=network-parts][data-id=eth-51t2-400g] summary",
                               "title")
    assert "source:" in title and "retrieved:" in title
    _shot(page, "fabric")


def _run_plan(page):
    page.click("#tab-plan")
    _submit(page, "plan")


def test_plan_view_pareto_front(page, server):
    _run_plan(page)
    api = _api(server, "/v1/plan", {"workload": {"model": "llama3-8b", "tokens": 1e12, "global_batch": [512]},
                                    "menu": {"accelerators": ["a100-sxm4-80gb", "h100-sxm5-80gb"],
                                             "devices": [256, 512],
                                             "sites": ["cn-guizhou", "us-oregon"], "cooling": ["air"],
                                             "stacks": ["megatron-core"]}, "output": {"top_k": 10}})
    front = api["pareto_front"]
    assert page.locator("#pareto circle.point").count() == len(front)
    assert page.locator("#pareto circle.best").count() == len({r["system"] for r in front})
    first = page.locator("#pareto circle.point").first
    index = int(first.get_attribute("data-index"))
    first.click()
    assert _raw(page, "#plan-row td[data-key=wall_s]") == pytest.approx(front[index]["wall_s"])
    assert page.text_content("#plan-row td[data-key=system]") == front[index]["system"]
    page.select_option("#plan-y", "tco2e")
    assert "carbon" in page.text_content("#pareto")
    page.select_option("#plan-filter-site", "us-oregon")
    assert page.locator("#pareto circle.point").count() == sum(r["site"] == "us-oregon" for r in front)
    page.select_option("#plan-filter-site", "")
    assert page.locator("#plan-result .assumptions li").count() == len(api["assumptions"])
    assert page.locator("#plan-result details[data-kind=accelerators]").count() == 2
    _shot(page, "plan")


def test_url_state_reruns_and_downloads(page, server, browser):
    page.click("#tab-serve")
    page.fill("#serve-devices", "4")
    page.select_option("#serve-accelerator", "h200-sxm-141gb")
    _submit(page, "serve")
    url = page.url
    assert "view=serve" in url and "devices=4" in url
    tokens = _raw(page, "td[data-key=output_tokens_per_s]")
    with page.expect_download() as info:
        page.click("#serve-download-json")
    assert json.loads(Path(info.value.path()).read_text())["metrics"]["output_tokens_per_s"] == pytest.approx(tokens)
    with page.expect_download() as info:
        page.click("#serve-download-csv")
    row = next(csv.DictReader(io.StringIO(Path(info.value.path()).read_text())))
    assert float(row["metrics.output_tokens_per_s"]) == pytest.approx(tokens)
    other = browser.new_page()
    other.goto(url)
    other.wait_for_selector("#serve-result:not([hidden])", timeout=60000)
    assert other.is_visible("#view-serve") and other.input_value("#serve-devices") == "4"
    assert _raw(other, "td[data-key=output_tokens_per_s]") == pytest.approx(tokens)
    other.evaluate("(h) => { location.hash = h; }", "view=serve&model=llama2-70b&accelerator=h200-sxm-141gb&devices=8"
                   "&precision=fp8&input_len=2048&output_len=256&site=us-virginia&cooling=air")
    other.wait_for_function("document.querySelector('#serve-devices').value === '8'")
    other.wait_for_selector("#serve-result:not([hidden])", timeout=60000)
    eight = _api(server, "/v1/serve", {"model": "llama2-70b", "accelerator": "h200-sxm-141gb", "devices": 8,
                                       "input_len": 2048, "output_len": 256})
    assert _raw(other, "td[data-key=output_tokens_per_s]") == pytest.approx(eight["metrics"]["output_tokens_per_s"])
    other.close()


def test_plan_csv_has_one_row_per_front_point(page):
    _run_plan(page)
    with page.expect_download() as info:
        page.click("#plan-download-csv")
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text())))
    assert len(rows) == page.locator("#pareto circle.point").count() and "wall_s" in rows[0]
    with page.expect_download() as info:
        page.click("#plan-download-html")
    report = Path(info.value.path()).read_text()
    assert report.startswith("<!doctype html>") and "Pareto front" in report and "<svg" in report


CONTRAST = """() => {
  const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => { const c = [r, g, b].map(v => {
    v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]; };
  const background = (el) => { for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor);
    if (c.length === 3 || c[3] > 0) return c.slice(0, 3); } return [255, 255, 255]; };
  const worst = [];
  for (const el of document.querySelectorAll('body *')) {
    const text = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!el.getClientRects().length || !text) continue;
    const style = getComputedStyle(el);
    const fg = rgb(el instanceof SVGElement ? style.fill : style.color).slice(0, 3);
    const [a, b] = [lum(fg), lum(background(el))].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    if (ratio < 4.5) worst.push(`${el.tagName}#${el.id} '${el.textContent.slice(0, 30)}' ${ratio.toFixed(2)}`);
  }
  return worst;
}"""
LABELS = """() => [...document.querySelectorAll('input, select, textarea')].filter(el =>
  !(el.labels && el.labels.length && el.labels[0].textContent.trim()) && !el.getAttribute('aria-label'))
  .map(el => el.id)"""


@pytest.mark.parametrize("view", ["train", "serve", "compare", "fabric", "plan"])
def test_accessibility_basics(page, view):
    page.click(f"#tab-{view}")
    _submit(page, view)
    field = {"fabric": "endpoints", "plan": "tokens"}.get(view, "devices")
    page.fill(f"#{view}-{field}", "-1")
    page.click(f"#{view}-run")
    page.wait_for_selector(f"#{view}-error:not(:empty)")
    assert page.get_attribute(f"#{view}-{field}", "aria-invalid") == "true"
    assert page.text_content(f"#{view}-{field}-error").startswith(field if view != "plan" else "workload.tokens")
    assert page.is_hidden(f"#{view}-result")
    assert page.evaluate(LABELS) == []
    assert page.evaluate(CONTRAST) == []


def test_local_docs_render_the_schema_without_a_network(page, server):
    page.goto(f"{server}/docs")
    page.wait_for_selector("section.endpoint[data-path='/v1/train']")
    schema = httpx.get(f"{server}/openapi.json").json()
    assert page.locator("section.endpoint").count() == sum(len(ops) for ops in schema["paths"].values())
    assert "global_batch" in page.text_content("section.endpoint[data-path='/v1/train']")
    _shot(page, "docs")


def test_token_is_required_when_set(browser):
    srv, thread, url = _start(token="s3cret")
    try:
        assert httpx.post(f"{url}/v1/train", json={}).status_code == 401
        assert httpx.get(f"{url}/").status_code == 200
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector("body[data-ready=true]")
        assert "requires a token" in page.text_content("#notice")
        page.close()
        page = browser.new_page()
        page.goto(f"{url}/#token=s3cret")
        page.wait_for_selector("body[data-ready=true]")
        assert "token" not in page.url
        page.fill("#train-devices", "256")
        page.fill("#train-global_batch", "512")
        _submit(page, "train")
        page.close()
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


def test_banner_prints_the_url_and_warns_off_loopback():
    assert serve_banner("127.0.0.1", 8000, None) == [
        "flopwatt web: serving http://127.0.0.1:8000/ (API docs: http://127.0.0.1:8000/docs)"]
    assert "#token=t" in serve_banner("::1", 80, "t")[0] and len(serve_banner("::1", 80, "t")) == 1
    lines = serve_banner("0.0.0.0", 8000, None)
    assert lines[0].startswith("flopwatt web: serving http://127.0.0.1:8000/ ")
    assert len(lines) == 2 and "not a loopback address" in lines[1] and "--token" in lines[1]
    assert "http://10.1.2.3:8000/#token=t " in serve_banner("10.1.2.3", 8000, "t")[0]
    assert "--token" not in serve_banner("10.1.2.3", 8000, "t")[1]


FORMAT_CASES = [0.0, 1.0, 0.125, 2.675, -0.0125, 0.5719165211775797, 12.354743576161587, 999.6, 1234.5,
                84872.34020973304, 3534720.49,
                2.5e-4, 7.3e-7, 0.1535074716500172, 936202.2747500462, 24067200.0, 4.5e9, 52511.24, 0.118, -4200.0,
                181.81197235446018, 3599.0, 172800.0, 1e9]


def test_page_formatter_and_python_units_agree(page):
    """One set of rules: fmt.num/pct/usd/duration in the page and flopwatt.units give the same text."""
    from flopwatt import units

    shown = page.evaluate("(xs) => xs.map(x => [fmt.num(x), fmt.pct(x), fmt.usd(x), fmt.duration(x)])", FORMAT_CASES)
    expected = [[units.number(x), units.percent(x), units.usd(x), units.duration(x)] for x in FORMAT_CASES]
    assert shown == expected
    assert units.number(84872.34) == "84,872" and units.usd(24067200.0) == "$24.1M" and units.percent(0.5719) == "57.2%"
    assert units.duration(3534720.49) == "40.9 days" and units.duration(1.0e8) == "1,157 days"


def test_cli_takes_a_token_for_web():
    from flopwatt.cli import build_parser

    assert build_parser().parse_args(["web", "--token", "t"]).token == "t"
    assert build_parser().parse_args(["web"]).token is None
