"""Routes of the config-driven commands: ``/v1/fleet``, ``/v1/capacity`` and the bundled examples.

Their bodies are :class:`~flopwatt.api.requests.FleetRequest` / ``CapacityRequest`` (a bundled example or
a config's text, bounded in size and jobs); they run like every computing route, in a killable worker
with the server's timeout (:func:`flopwatt.server.app._run`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse

from flopwatt.api.capacity import capacity
from flopwatt.api.configs import example_summary, examples
from flopwatt.api.fleet import fleet
from flopwatt.api.requests import CapacityRequest, FleetRequest

KINDS = ("fleet", "capacity")
ENDPOINTS = {"fleet": (FleetRequest, fleet), "capacity": (CapacityRequest, capacity)}
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

    @app.get("/v1/examples/{kind}", summary="The bundled example configs of fleet or capacity (name, summary, text)",
             responses=errors)
    async def example_list(kind: str) -> JSONResponse:
        if kind not in KINDS:
            raise HTTPException(status_code=400, detail=f"kind: expected one of {', '.join(KINDS)}, got {kind[:40]!r}")
        return JSONResponse([{"name": name, "summary": example_summary(path), "toml": path.read_text(encoding="utf-8")}
                             for name, path in examples(kind).items()])
