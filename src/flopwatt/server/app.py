"""``flopwatt web``: versioned JSON endpoints over :mod:`flopwatt.api`, an OpenAPI schema, a page and local docs.

The request bodies are the API's own request models, so settings, bounds, defaults and numbers are
those of the CLI and the Python API (the server never goes through the CLI). Work is bounded (sizes
in the schema, configurations per search, a timeout per request); clients never pass file paths;
the server binds to localhost unless told otherwise. Bad input is a 400 naming the field (422 for a
body the schema itself refuses); an infeasible plan is a 200 whose ``feasible`` is false.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
from importlib import resources
from typing import Any, Literal

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from flopwatt import api, catalog
from flopwatt.api.requests import (
    FabricRequest,
    PlanSearchRequest,
    ReliabilityRequest,
    ServeCompareRequest,
    ServeRequest,
    TrainRequest,
)
from flopwatt.errors import InputError

MAX_SEARCH_CONFIGURATIONS = 2_000_000
TIMEOUT_S = 20.0
Kind = Literal["accelerators", "systems", "models", "stacks", "sites", "cooling"]
STATIC = {"app.js": "text/javascript", "format.js": "text/javascript", "charts.js": "text/javascript",
          "docs.js": "text/javascript", "views.js": "text/javascript", "style.css": "text/css"}
"""The page's own assets, served from the package (no CDN: the page and /docs work offline)."""
TOKEN_HEADER = "X-Flopwatt-Token"


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def _finite(value: Any) -> Any:
    """JSON has no infinity: a search row's unknown (infinite) $, MWh or tCO2e is sent as null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _no_files(req: Any) -> None:
    """The web takes catalog ids and names only: a file reference is a 400 naming the field."""
    for name in ("model", "accelerator", "system"):
        refs = getattr(req, name, None)
        for ref in refs if isinstance(refs, list) else [refs]:
            if isinstance(ref, str) and ref.endswith((".json", ".toml")):
                raise InputError(name, "a catalog id or name (file paths are not accepted by the web API)", ref)


def _plan_payload(body: str) -> str:
    """Search a bounded space in this process (one worker) and return the report as JSON text."""
    from flopwatt.search import config, engine

    cfg = config.from_request(PlanSearchRequest.model_validate_json(body))
    groups, items = engine.work_items(cfg)
    configurations = sum(stop - start for _, start, stop in items) * len(cfg.sites) * len(cfg.cooling)
    if configurations > MAX_SEARCH_CONFIGURATIONS:
        raise InputError("menu", f"at most {MAX_SEARCH_CONFIGURATIONS:,} configurations per request "
                         "(run `flopwatt plan` for larger spaces)", f"{configurations:,}")
    report = engine.search(cfg, workers=1)
    return json.dumps(_finite({"configurations": report.configurations, "feasible_after_constraints": report.feasible,
                               "infeasible": report.infeasible, "eliminated": report.eliminated,
                               "pareto_front": report.front, "top": report.top,
                               "market": config.market_summary(cfg), "assumptions": config.assumptions(cfg)}),
                      default=_json_default)


def _answer(endpoint: str, body: str) -> str:
    """The JSON answer to one request body of one endpoint (a pure function of both and the catalog)."""
    if endpoint == "plan":
        return _plan_payload(body)
    cls, call = ENDPOINTS[endpoint]
    req = cls.model_validate_json(body)
    _no_files(req)
    out = call(req)
    if isinstance(out, list):
        out = [r.payload() if isinstance(r, api.Result) else r for r in out]
    elif isinstance(out, api.Result):
        out = out.payload()
    return json.dumps(out, default=_json_default)


def _fabric(req: FabricRequest) -> Any:
    designs = api.fabric(req)
    return designs[0] if len(designs) == 1 else designs


ENDPOINTS = {
    "train": (TrainRequest, api.train),
    "serve": (ServeRequest, functools.partial(api.serve, allow_files=False)),
    "serve/compare": (ServeCompareRequest, functools.partial(api.serve_compare, allow_files=False)),
    "fabric": (FabricRequest, _fabric),
    "reliability": (ReliabilityRequest, api.reliability),
}


@functools.lru_cache(maxsize=512)
def _cached(endpoint: str, body: str) -> str:
    """Repeated questions (a page re-rendered, a sweep re-run) are served from memory; errors are not cached."""
    return _answer(endpoint, body)


async def _run(endpoint: str, body: str) -> JSONResponse:
    try:
        text = await asyncio.wait_for(asyncio.to_thread(_cached, endpoint, body), TIMEOUT_S)
    except InputError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    except TimeoutError as exc:
        raise HTTPException(status_code=408, detail=f"request took over {TIMEOUT_S:g} s; narrow it") from exc
    return JSONResponse(json.loads(text))


def _catalog_payload(kind: str, entry: str | None) -> Any:
    from dataclasses import fields, is_dataclass

    def plain(value: Any) -> Any:
        if is_dataclass(value):
            return {f.name: (getattr(value, f.name).id if f.name == "accelerator" else plain(getattr(value, f.name)))
                    for f in fields(value)}
        return list(value) if isinstance(value, tuple) else value

    if entry is not None:
        return plain(catalog.get(kind, entry))
    return {i: plain(e) for i, e in getattr(catalog, kind)().items()}


def _asset(name: str) -> str:
    return resources.files("flopwatt.server").joinpath(name).read_text(encoding="utf-8")


def _add_pages(app: FastAPI) -> None:
    """The page, its static assets and the offline API docs (FastAPI's /docs loads Swagger UI from a CDN)."""

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> str:
        return _asset("page.html")

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    async def docs() -> str:
        return _asset("docs.html")

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        if name not in STATIC:
            raise HTTPException(status_code=404, detail=f"name: one of {', '.join(STATIC)}")
        return Response(_asset(name), media_type=STATIC[name])


def _require_token(app: FastAPI, token: str) -> None:
    """With a token set, every /v1 request must carry it in the X-Flopwatt-Token header (else 401)."""
    import hmac

    @app.middleware("http")
    async def check_token(request: Request, call_next: Any) -> Response:
        if request.url.path.startswith("/v1") and not hmac.compare_digest(
                request.headers.get(TOKEN_HEADER, "").encode(), token.encode()):
            return JSONResponse({"detail": f"token: the {TOKEN_HEADER} header of `flopwatt web --token`"},
                                status_code=401)
        return await call_next(request)


def create_app(token: str | None = None) -> FastAPI:
    """The app; with ``token``, /v1 requests need it in the X-Flopwatt-Token header."""
    app = FastAPI(title="flopwatt", version="1", description="Planner and simulator for AI infrastructure.",
                  docs_url=None, redoc_url=None)
    _add_pages(app)
    if token:
        _require_token(app, token)

    @app.post("/v1/train", summary="Estimate a training run (time, memory, energy, money, carbon)")
    async def train(request: TrainRequest) -> JSONResponse:
        return await _run("train", request.model_dump_json())

    @app.post("/v1/fabric", summary="Design a scale-out fabric: counts, bill of materials, $ and W")
    async def fabric(request: FabricRequest) -> JSONResponse:
        return await _run("fabric", request.model_dump_json())

    @app.post("/v1/serve", summary="Estimate LLM serving: tokens/s, TTFT/TPOT, J/token, $/Mtoken")
    async def serve_estimate(request: ServeRequest) -> JSONResponse:
        return await _run("serve", request.model_dump_json())

    @app.post("/v1/serve/compare", summary="Accelerators side by side on one serving workload at equal SLOs")
    async def serve_compare(request: ServeCompareRequest) -> JSONResponse:
        return await _run("serve/compare", request.model_dump_json())

    @app.post("/v1/reliability", summary="Interruptions, checkpoint interval and goodput of a job")
    async def reliability(request: ReliabilityRequest) -> JSONResponse:
        return await _run("reliability", request.model_dump_json())

    @app.post("/v1/plan", summary="Search a bounded design space: Pareto front of time, $, MWh, tCO2e")
    async def plan(request: PlanSearchRequest) -> JSONResponse:
        return await _run("plan", request.model_dump_json())

    @app.get("/v1/catalog/{kind}", summary="List catalog entries with their sources")
    async def catalog_list(kind: Kind) -> JSONResponse:
        return JSONResponse(json.loads(json.dumps(_catalog_payload(kind, None), default=_json_default)))

    @app.get("/v1/catalog/{kind}/{entry}", summary="One catalog entry with its sources")
    async def catalog_entry(kind: Kind, entry: str) -> JSONResponse:
        try:
            payload = _catalog_payload(kind, entry)
        except InputError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        return JSONResponse(json.loads(json.dumps(payload, default=_json_default)))

    return app


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve_banner(host: str, port: int, token: str | None) -> list[str]:
    """What ``flopwatt web`` prints: the URL (with the token in the fragment, never sent in a URL query)
    and a warning when the address is reachable from other machines."""
    wildcard = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # every interface: open it via loopback
    local = wildcard.get(host, host)
    shown = f"[{local}]" if ":" in local else local
    url = f"http://{shown}:{port}/" + (f"#token={token}" if token else "")
    lines = [f"flopwatt web: serving {url} (API docs: http://{shown}:{port}/docs)"]
    if not _is_loopback(host):
        lines.append(f"flopwatt web: warning: bound to {host}, not a loopback address: other machines can reach "
                     "this server" + ("" if token else "; set --token or FLOPWATT_WEB_TOKEN to require a token"))
    return lines


def serve(host: str = "127.0.0.1", port: int = 8000, token: str | None = None) -> None:
    """Run the server (the ``flopwatt web`` command); ``token`` defaults to $FLOPWATT_WEB_TOKEN."""
    import os
    import sys

    import uvicorn

    token = token or os.environ.get("FLOPWATT_WEB_TOKEN") or None
    for line in serve_banner(host, port, token):
        print(line, file=sys.stderr if "warning" in line else sys.stdout, flush=True)
    uvicorn.run(create_app(token), host=host, port=port, log_level="warning")


def openapi() -> dict[str, Any]:
    return create_app().openapi()
