"""Routes of the config-driven commands (``/v1/fleet``, ``/v1/capacity``, the bundled examples) and the HTML
reports (``/v1/{train,fabric,plan,fleet,capacity}/report``).

Their bodies are request models (fleet/capacity: a bundled example or a config's text, bounded in size and
jobs); they run like every computing route, in a killable worker with the server's timeout
(:func:`flopwatt.server.app._run`). A report is the CLI's ``--report`` page (:mod:`flopwatt.report`) of the
endpoint's own answer to the same body.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from flopwatt.api.capacity import capacity
from flopwatt.api.configs import example_summary, examples
from flopwatt.api.fleet import fleet
from flopwatt.api.requests import CapacityRequest, FabricRequest, FleetRequest, PlanSearchRequest, TrainRequest
from flopwatt.errors import InputError
from flopwatt.server import plan_progress

KINDS = ("fleet", "capacity")


def _renderer(endpoint: str) -> Callable[[Any], str]:
    from flopwatt.report import html
    from flopwatt.report.capacity import capacity_report

    return {"train": html.train_report, "fabric": html.fabric_report, "plan": html.plan_report,
            "fleet": html.fleet_report, "capacity": capacity_report}[endpoint]


def _unknown_as_inf(row: dict[str, Any]) -> dict[str, Any]:
    """The plan report prints an unknown $, MWh or tCO2e as inf (the web's JSON sends it as null)."""
    return {k: math.inf if v is None and k in ("usd", "facility_mwh", "tco2e") else v for k, v in row.items()}


def report(endpoint: str) -> Callable[[Any], str]:
    """The HTML report of ``endpoint``'s answer to a request (run in a worker, like the answer itself)."""
    def render(req: Any) -> str:
        from flopwatt.server.app import answer

        payload = json.loads(answer(endpoint, req.model_dump_json()))
        if endpoint == "train" and not payload["feasible"]:
            raise InputError("plan", f"a feasible plan to report ({payload['message']})")
        if endpoint == "plan":
            payload["pareto_front"] = [_unknown_as_inf(r) for r in payload["pareto_front"]]
        return _renderer(endpoint)(payload)
    return render


ENDPOINTS = {"fleet": (FleetRequest, fleet), "capacity": (CapacityRequest, capacity),
             "train/report": (TrainRequest, report("train")), "fabric/report": (FabricRequest, report("fabric")),
             "plan/report": (PlanSearchRequest, report("plan")), "fleet/report": (FleetRequest, report("fleet")),
             "capacity/report": (CapacityRequest, report("capacity")), **plan_progress.ENDPOINTS}
"""(request model, API call) of each route here (joined to flopwatt.server.app.ENDPOINTS)."""


def add_routes(app: FastAPI, run: Callable[..., Awaitable[Response]], errors: dict[int | str, dict[str, Any]]) -> None:
    @app.post("/v1/fleet", summary="Simulate a fleet under each policy: queueing, utilisation, MWh, $, tCO2e",
              responses=errors)
    async def fleet(request: FleetRequest, http: Request) -> Response:
        return await run(app, "fleet", request.model_dump_json(), http)

    @app.post("/v1/capacity", summary="Plan capacity over years: devices, MW, TWh, capex/opex, tCO2e by site",
              responses=errors)
    async def capacity(request: CapacityRequest, http: Request) -> Response:
        return await run(app, "capacity", request.model_dump_json(), http)

    plan_progress.add_route(app, errors)

    async def html_report(endpoint: str, request: Any, http: Request) -> Response:
        answer = await run(app, endpoint, request.model_dump_json(), http)
        return HTMLResponse(json.loads(answer.body)) if answer.status_code == 200 else answer

    html = {"description": "The HTML report (the CLI's --report page), self-contained",
            "content": {"text/html": {}}}
    reports = {200: html, **errors}

    @app.post("/v1/train/report", summary="HTML report of a training estimate", responses=reports)
    async def train_report(request: TrainRequest, http: Request) -> Response:
        return await html_report("train/report", request, http)

    @app.post("/v1/fabric/report", summary="HTML report of fabric designs", responses=reports)
    async def fabric_report(request: FabricRequest, http: Request) -> Response:
        return await html_report("fabric/report", request, http)

    @app.post("/v1/plan/report", summary="HTML report of a plan search", responses=reports)
    async def plan_report(request: PlanSearchRequest, http: Request) -> Response:
        return await html_report("plan/report", request, http)

    @app.post("/v1/fleet/report", summary="HTML report of a fleet simulation", responses=reports)
    async def fleet_report(request: FleetRequest, http: Request) -> Response:
        return await html_report("fleet/report", request, http)

    @app.post("/v1/capacity/report", summary="HTML report of a capacity plan", responses=reports)
    async def capacity_report(request: CapacityRequest, http: Request) -> Response:
        return await html_report("capacity/report", request, http)

    @app.get("/v1/catalog/network-parts", summary="Network parts (switches, NICs, media) with their sources",
             responses=errors)
    async def network_parts() -> JSONResponse:
        from dataclasses import asdict

        from flopwatt import catalog

        parts = {pid: {"part": kind, **asdict(entry)} for kind, entries in catalog.network_parts().items()
                 for pid, entry in entries.items()}
        return JSONResponse(json.loads(json.dumps(parts, default=str)))

    @app.get("/v1/examples/{kind}", summary="The bundled example configs of fleet or capacity (name, summary, text)",
             responses=errors)
    async def example_list(kind: str) -> JSONResponse:
        if kind not in KINDS:
            raise HTTPException(status_code=400, detail=f"kind: expected one of {', '.join(KINDS)}, got {kind[:40]!r}")
        return JSONResponse([{"name": name, "summary": example_summary(path), "toml": path.read_text(encoding="utf-8")}
                             for name, path in examples(kind).items()])
