"""Plan search with progress: ``POST /v1/plan/progress`` streams one JSON line per finished part, then the answer.

The server splits the search into parts of the engine's own tasks (:func:`flopwatt.search.engine.work_items`),
runs each part in a killable worker (:mod:`flopwatt.server.pool`, as many at once as there are workers),
and merges them as the engine does (:func:`flopwatt.search.engine.merge`), so the answer is the one
``/v1/plan`` gives. Lines: ``{"done": k, "total": n, "configurations": c}`` ... then ``{"result": ANSWER}``
or ``{"error": {"status": 408, "detail": ...}}``. When the client goes (Cancel) or the deadline passes,
every running part's worker is killed and no further part starts.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import Field

from flopwatt.api.requests import PlanSearchRequest
from flopwatt.api.requests import Request as RequestModel
from flopwatt.errors import InputError
from flopwatt.server import pool

PARTS = 24
"""At most this many parts (progress steps) per search."""


def configure(body: str) -> tuple[Any, list[tuple], int]:
    """(plan config, engine tasks, configurations) of a /v1/plan body; a space over the web's bound is a
    400 naming ``menu``."""
    from flopwatt.search import config, engine
    from flopwatt.server.app import MAX_SEARCH_CONFIGURATIONS

    cfg = config.from_request(PlanSearchRequest.model_validate_json(body))
    groups, items = engine.work_items(cfg)
    configurations = sum(stop - start for _, start, stop in items) * len(cfg.sites) * len(cfg.cooling)
    if configurations > MAX_SEARCH_CONFIGURATIONS:
        raise InputError("menu", f"at most {MAX_SEARCH_CONFIGURATIONS:,} configurations per request "
                         "(run `flopwatt plan` for larger spaces)", f"{configurations:,}")
    if not items:
        raise InputError("[menu]", "choices that admit at least one valid plan (no plan fits the menu)")
    return cfg, engine._tasks(cfg, groups, items, None, "parquet"), configurations


def payload(cfg: Any, report: Any) -> str:
    """The /v1/plan answer of a merged report (unknown figures as null)."""
    from flopwatt.search import config
    from flopwatt.server.app import _finite, _json_default

    return json.dumps(_finite({"configurations": report.configurations, "feasible_after_constraints": report.feasible,
                               "infeasible": report.infeasible, "eliminated": report.eliminated,
                               "pareto_front": report.front, "top": report.top,
                               "market": config.market_summary(cfg), "assumptions": config.assumptions(cfg)}),
                      default=_json_default)


class PlanPart(RequestModel):
    """Tasks ``start:stop`` of a search (a worker's share of ``/v1/plan/progress``)."""

    request: PlanSearchRequest
    start: int = Field(ge=0)
    stop: int = Field(ge=0)


_last: dict[str, tuple[Any, list[tuple], int]] = {}
"""The last search a worker configured (a worker runs several parts of one search in a row)."""


def _configured(body: str) -> tuple[Any, list[tuple], int]:
    if body not in _last:
        _last.clear()
        _last[body] = configure(body)
    return _last[body]


def count(req: PlanSearchRequest) -> dict[str, int]:
    _, tasks, configurations = _configured(req.model_dump_json())
    return {"tasks": len(tasks), "configurations": configurations}


def part(req: PlanPart) -> str:
    """The numbered chunk results of tasks ``start:stop``, as JSON text (infinite figures kept for the merge)."""
    from dataclasses import asdict

    from flopwatt.search import engine
    from flopwatt.server.app import _json_default

    _, tasks, _ = _configured(req.request.model_dump_json())
    pairs = [(n, asdict(r)) for t in tasks[req.start:req.stop] for n, r in engine._task(t)]
    return json.dumps(pairs, default=_json_default)


def merge(body: str, parts: list[list]) -> str:
    from flopwatt.search import config, engine, run

    cfg = config.from_request(PlanSearchRequest.model_validate_json(body))
    pairs = sorted((pair for p in parts for pair in p), key=lambda pair: pair[0])
    return payload(cfg, engine.merge([run.ChunkResult(**r) for _, r in pairs], cfg.top_k))


ENDPOINTS = {"plan/count": (PlanSearchRequest, count), "plan/part": (PlanPart, part)}


async def _call(app: FastAPI, endpoint: str, body: str, deadline: float, http: Request) -> Any:
    status, text = await app.state.pool.run(endpoint, body, max(deadline - time.monotonic(), 0.01),
                                            http.is_disconnected)
    if status == "input":
        raise HTTPException(status_code=400, detail=text)
    if status != "ok":
        raise HTTPException(status_code=500, detail=text)
    return json.loads(text)


async def _lines(app: FastAPI, body: str, total: int, configurations: int, deadline: float,
                 http: Request) -> AsyncIterator[str]:
    """Progress lines as parts finish, then the merged answer (cached like /v1/plan's)."""
    size = -(-total // min(PARTS, total))
    spans = [(i, min(i + size, total)) for i in range(0, total, size)]
    request = json.loads(body)
    yield json.dumps({"done": 0, "total": len(spans), "configurations": configurations}) + "\n"
    jobs = [asyncio.ensure_future(_call(app, "plan/part", json.dumps({"request": request, "start": a, "stop": b}),
                                        deadline, http)) for a, b in spans]
    try:
        parts = []
        for done, job in enumerate(asyncio.as_completed(jobs), 1):
            parts.append(json.loads(await job))
            yield json.dumps({"done": done, "total": len(spans), "configurations": configurations}) + "\n"
        text = merge(body, parts)
        app.state.cache.put(("plan", body), text)
        yield '{"result": ' + text + "}\n"
    except pool.Timeout:
        yield json.dumps({"error": {"status": 408, "detail": f"request took over {app.state.timeout_s:g} s; the "
                                    "computation was stopped; narrow it (or run the CLI)"}}) + "\n"
    except HTTPException as exc:
        yield json.dumps({"error": {"status": exc.status_code, "detail": exc.detail}}) + "\n"
    finally:  # cancelled (the client went) or failed: stop every part still running; their workers are killed
        for job in jobs:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)


def add_route(app: FastAPI, errors: dict[int | str, dict[str, Any]]) -> None:
    @app.post("/v1/plan/progress", summary="Search a design space, streaming progress lines then the /v1/plan answer",
              responses=errors)
    async def plan_progress(request: PlanSearchRequest, http: Request) -> Response:
        body = request.model_dump_json()
        deadline = time.monotonic() + app.state.timeout_s
        cached = app.state.cache.get(("plan", body))
        if cached is not None:
            return StreamingResponse(iter(['{"result": ' + cached + "}\n"]), media_type="application/x-ndjson")
        try:
            sizes = await _call(app, "plan/count", body, deadline, http)
        except pool.Timeout:
            raise HTTPException(status_code=408, detail="counting the space took too long") from None
        except pool.Disconnected:
            return Response(status_code=499)
        return StreamingResponse(_lines(app, body, sizes["tasks"], sizes["configurations"], deadline, http),
                                 media_type="application/x-ndjson")
