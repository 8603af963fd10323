"""``flopwatt web``: versioned JSON endpoints over :mod:`flopwatt.api`, an OpenAPI schema and a page.

The request bodies are the API's own request models, so settings, bounds, defaults and numbers are
those of the CLI and the Python API (the server never goes through the CLI). Work is bounded (sizes
in the schema, configurations per search, a timeout per request); clients never pass file paths;
the server binds to localhost unless told otherwise. Bad input is a 400 naming the field (422 for a
body the schema itself refuses); an infeasible plan is a 200 whose ``feasible`` is false.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import json
import math
import socket
import sys
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any, Literal

import numpy as np
from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel

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
from flopwatt.server import config_routes, pool
from flopwatt.server.cache import CACHE_BYTES, AnswerCache

MAX_SEARCH_CONFIGURATIONS = 2_000_000
TIMEOUT_S = 20.0
"""Seconds a computation may take; then its worker process is killed and the answer is 408."""
RETRY_AFTER_S = 5
"""Seconds a client is asked to wait (Retry-After) when no worker was free before its deadline (a rule)."""
MAX_BODY_BYTES = 2**20
"""Largest request body accepted (every field is bounded far below this; larger is 413)."""


Kind = Literal["accelerators", "systems", "models", "stacks", "sites", "cooling"]
STATIC = {"app.js": "text/javascript", "format.js": "text/javascript", "charts.js": "text/javascript",
          "docs.js": "text/javascript", "views.js": "text/javascript", "specs.js": "text/javascript",
          "progress.js": "text/javascript", "views_config.js": "text/javascript", "style.css": "text/css"}
"""The page's own assets, served from the package (no CDN: the page and /docs work offline)."""
TOKEN_HEADER = "X-Flopwatt-Token"


class Problem(BaseModel):
    detail: str


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def _finite(value: Any) -> Any:
    """Plain JSON values in one walk: JSON has no infinity, so an unknown (non-finite) number (a search row's
    $, MWh or tCO2e) is sent as null; tuples become lists and numpy scalars Python ones (:func:`_json_default`)."""
    if value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return _finite(_json_default(value))


def _no_files(req: Any) -> None:
    """The web takes catalog ids and names only: a file reference is a 400 naming the field."""
    for name in ("model", "accelerator", "system"):
        refs = getattr(req, name, None)
        for ref in refs if isinstance(refs, list) else [refs]:
            if isinstance(ref, str) and ref.endswith((".json", ".toml")):
                raise InputError(name, "a catalog id or name (file paths are not accepted by the web API)", ref)


def _plan_payload(body: str) -> str:
    """Search a bounded space in this process (one worker) and return the report as JSON text."""
    from flopwatt.search import engine
    from flopwatt.server.plan_progress import configure, payload

    cfg, _, _ = configure(body)
    return payload(cfg, engine.search(cfg, workers=1))


def answer(endpoint: str, body: str) -> str:
    """The JSON answer to one request body of one endpoint (a pure function of both and the catalog); run in
    a worker process (:mod:`flopwatt.server.pool`). Unknown (non-finite) numbers are sent as null."""
    if endpoint == "plan":
        return _plan_payload(body)
    cls, call = ENDPOINTS[endpoint]
    req = cls.model_validate_json(body)
    _no_files(req)
    with np.errstate(all="ignore"):
        out = call(req)
    if isinstance(out, list):
        out = [r.payload() if isinstance(r, api.Result) else r for r in out]
    elif isinstance(out, api.Result):
        out = out.payload()
    return json.dumps(_finite(out), allow_nan=False)


def _fabric(req: FabricRequest) -> Any:
    designs = api.fabric(req)
    return designs[0] if len(designs) == 1 else designs


ENDPOINTS = {
    "train": (TrainRequest, api.train),
    "serve": (ServeRequest, functools.partial(api.serve, allow_files=False)),
    "serve/compare": (ServeCompareRequest, functools.partial(api.serve_compare, allow_files=False)),
    "fabric": (FabricRequest, _fabric),
    "reliability": (ReliabilityRequest, api.reliability),
    **config_routes.ENDPOINTS,
}


async def _run(app: FastAPI, endpoint: str, body: str, http: Request) -> Response:
    """One computing request: from the cache, or from a worker killed at the deadline or when the client goes."""
    key = (endpoint, body)
    text = app.state.cache.get(key)
    if text is None:
        try:
            status, text = await app.state.pool.run(endpoint, body, app.state.timeout_s, http.is_disconnected)
        except pool.Busy:
            raise HTTPException(status_code=503, detail=f"no worker was free within {app.state.timeout_s:g} s (the "
                                "server is busy); nothing was computed; retry later",
                                headers={"Retry-After": str(RETRY_AFTER_S)}) from None
        except pool.Timeout:
            raise HTTPException(status_code=408, detail=f"request took over {app.state.timeout_s:g} s; the "
                                "computation was stopped; narrow it (or run the CLI)") from None
        except pool.Disconnected:
            return Response(status_code=499)
        except RuntimeError as exc:  # the worker process died (e.g. out of memory): it is replaced
            raise HTTPException(status_code=500, detail=str(exc)) from None
        if status == "input":
            raise HTTPException(status_code=400, detail=text)
        if status != "ok":
            raise HTTPException(status_code=500, detail=text)
        app.state.cache.put(key, text)
    return Response(text, media_type="application/json")


class BodyLimit:
    """ASGI middleware: a body is read only when its Content-Length is given and at most MAX_BODY_BYTES
    (413 otherwise; 411 for a POST without a length). Pure ASGI, so a client's disconnect still reaches
    the route."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            length = dict(scope["headers"]).get(b"content-length", b"").decode("latin-1")
            problem = None
            if not length:
                problem = 411, "content-length: expected a body length (chunked bodies are not accepted)"
            elif not length.isdigit() or int(length) > MAX_BODY_BYTES:
                problem = 413, f"content-length: expected at most {MAX_BODY_BYTES:,} bytes, got {length[:20]}"
            if problem:
                await JSONResponse({"detail": problem[1]}, status_code=problem[0])(scope, receive, send)
                return
        await self.app(scope, receive, send)


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Bad input: one line naming the field and what was expected", "model": Problem},
    408: {"description": f"The computation took longer than the timeout ({TIMEOUT_S:g} s by default) and was "
                         "stopped", "model": Problem},
    413: {"description": f"Body larger than {MAX_BODY_BYTES:,} bytes", "model": Problem},
    503: {"description": f"No worker was free within the timeout (the server is busy): nothing was computed; "
                         f"retry after the Retry-After seconds ({RETRY_AFTER_S})", "model": Problem},
}
"""Error answers every computing route may give (422: the schema refused the body, documented by FastAPI)."""


def _plain_loc(loc: tuple) -> list:
    """A validation error's location without pydantic's validator reprs: ['body', 'menu', 'devices', 0]."""
    return [p for p in loc if isinstance(p, int) or (isinstance(p, str) and "(" not in p and "[" not in p)]


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


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Every worker is started, and has imported the server, before the first request is taken (no request
    waits for a process start). They outlive a lifespan (a test client opens one per request; the
    workers are daemons, and :func:`serve` stops them)."""
    await asyncio.to_thread(app.state.pool.warm)
    yield


def create_app(*, timeout_s: float = TIMEOUT_S, workers: int | None = None, cache_bytes: int = CACHE_BYTES,
               token: str | None = None) -> FastAPI:
    """The app; each computation runs in one of ``workers`` processes, killed after ``timeout_s``; with
    ``token``, /v1 requests need it in the X-Flopwatt-Token header."""
    app = FastAPI(title="flopwatt", version="1", description="Planner and simulator for AI infrastructure.",
                  docs_url=None, redoc_url=None, lifespan=_lifespan)
    app.state.timeout_s = timeout_s
    app.state.cache = AnswerCache(cache_bytes)
    app.state.pool = pool.Pool(workers, catalog.overlay_paths())

    @app.exception_handler(RequestValidationError)
    async def schema_refused(http: Request, exc: RequestValidationError) -> JSONResponse:
        """422 naming each field and what was wrong, without echoing the input (which may be NaN, or huge)."""
        return JSONResponse({"detail": [{"loc": _plain_loc(e.get("loc", ())), "msg": str(e.get("msg", ""))[:300],
                                         "type": e.get("type", "")} for e in exc.errors()[:20]]}, status_code=422)

    app.add_middleware(BodyLimit)
    _add_pages(app)
    if token:
        _require_token(app, token)

    @app.post("/v1/train", summary="Estimate a training run (time, memory, energy, money, carbon)", responses=ERRORS)
    async def train(request: TrainRequest, http: Request) -> Response:
        return await _run(app, "train", request.model_dump_json(), http)

    @app.post("/v1/fabric", summary="Design a scale-out fabric: counts, bill of materials, $ and W", responses=ERRORS)
    async def fabric(request: FabricRequest, http: Request) -> Response:
        return await _run(app, "fabric", request.model_dump_json(), http)

    @app.post("/v1/serve", summary="Estimate LLM serving: tokens/s, TTFT/TPOT, J/token, $/Mtoken", responses=ERRORS)
    async def serve_estimate(request: ServeRequest, http: Request) -> Response:
        return await _run(app, "serve", request.model_dump_json(), http)

    @app.post("/v1/serve/compare", summary="Accelerators side by side on one serving workload at equal SLOs",
              responses=ERRORS)
    async def serve_compare(request: ServeCompareRequest, http: Request) -> Response:
        return await _run(app, "serve/compare", request.model_dump_json(), http)

    @app.post("/v1/reliability", summary="Interruptions, checkpoint interval and goodput of a job", responses=ERRORS)
    async def reliability(request: ReliabilityRequest, http: Request) -> Response:
        return await _run(app, "reliability", request.model_dump_json(), http)

    @app.post("/v1/plan", summary="Search a bounded design space: Pareto front of time, $, MWh, tCO2e",
              responses=ERRORS)
    async def plan(request: PlanSearchRequest, http: Request) -> Response:
        return await _run(app, "plan", request.model_dump_json(), http)

    config_routes.add_routes(app, _run, ERRORS)

    @app.get("/v1/catalog/{kind}", summary="List catalog entries with their sources", responses=ERRORS)
    async def catalog_list(kind: Kind) -> JSONResponse:
        return JSONResponse(json.loads(json.dumps(_catalog_payload(kind, None), default=_json_default)))

    @app.get("/v1/catalog/{kind}/{entry}", summary="One catalog entry with its sources", responses=ERRORS)
    async def catalog_entry(kind: Kind, entry: str) -> JSONResponse:
        try:
            payload = _catalog_payload(kind, entry)
        except InputError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        return JSONResponse(json.loads(json.dumps(payload, default=_json_default)))

    return app


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; a bad host or port, or one in use, is one InputError."""
    if not 1 <= port <= 65535:
        raise InputError("--port", "an integer from 1 to 65535", port)
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise InputError("--host", f"an address or name this machine resolves ({exc})", host) from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise InputError("--port", "a free port", port, message=f"port {port} is in use on {host}") from None
        raise InputError("--host", f"an address of this machine ({exc.strerror})", host) from None
    return sock


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
    """Run the server (the ``flopwatt web`` command); the socket is bound first, so a bad host or port is
    one line naming it; ``token`` defaults to $FLOPWATT_WEB_TOKEN."""
    import os

    import uvicorn

    sock = bind(host, port)
    token = token or os.environ.get("FLOPWATT_WEB_TOKEN") or None
    for line in serve_banner(host, port, token):
        print(line, file=sys.stderr if "warning" in line else sys.stdout, flush=True)
    app = create_app(token=token)  # its workers start before it takes requests (_lifespan)
    try:
        uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
    finally:
        app.state.pool.close()
        sock.close()


def openapi() -> dict[str, Any]:
    return create_app().openapi()
