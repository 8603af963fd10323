"""``flopwatt web``: versioned JSON endpoints, an OpenAPI schema and an interactive page.

Each request is turned into the CLI's argument list and run through :func:`flopwatt.cli.run_command`,
so validation, defaults and numbers are those of the command line. Work is bounded (plans per
estimate, configurations per search, a timeout per request); clients never pass file paths; the
server binds to localhost unless told otherwise. Bad input is a 400 naming the field.
"""

from __future__ import annotations

import asyncio
import functools
import json
from importlib import resources
from typing import Any, Literal

from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from flopwatt.cli import _json_default, run_command
from flopwatt.errors import InputError

MAX_DEVICES = 1_000_000
MAX_SEARCH_CONFIGURATIONS = 2_000_000
TIMEOUT_S = 20.0
Kind = Literal["accelerators", "systems", "models", "stacks", "sites", "cooling"]


class TrainRequest(BaseModel):
    """One training estimate; plan knobs left out are chosen (fastest feasible plan)."""

    model_config = ConfigDict(extra="forbid")
    model: str = "gpt3-175b"
    accelerator: str | None = None
    system: str | None = None
    devices: int = Field(1024, ge=1, le=MAX_DEVICES)
    global_batch: int = Field(1536, ge=1, le=10_000_000)
    seq_len: int | None = Field(None, ge=1, le=10_000_000)
    tokens: float = Field(300e9, gt=0, le=1e18)
    precision: Literal["fp32", "tf32", "fp16", "bf16", "fp8", "fp4"] | None = None
    stack: str = "megatron-core"
    tp: int | None = Field(None, ge=1, le=MAX_DEVICES)
    pp: int | None = Field(None, ge=1, le=MAX_DEVICES)
    dp: int | None = Field(None, ge=1, le=MAX_DEVICES)
    ep: int | None = Field(None, ge=1, le=MAX_DEVICES)
    cp: int | None = Field(None, ge=1, le=MAX_DEVICES)
    vpp: int | None = Field(None, ge=1, le=1024)
    micro_batch: int | None = Field(None, ge=1, le=1_000_000)
    zero: Literal[0, 1, 2, 3] | None = None
    recompute: Literal["none", "selective", "full"] | None = None
    sequence_parallel: bool | None = None
    site: str = "us-virginia"
    cooling: str = "air"
    pue: float | None = Field(None, ge=1, le=10)
    pue_cap: float | None = Field(None, ge=1, le=10)
    electricity_price: float | None = Field(None, ge=0, le=100)
    carbon_intensity: float | None = Field(None, ge=0, le=10_000)
    price_factor: float = Field(1.0, gt=0, le=1000)
    fabric: Literal["fat-tree", "rail-optimized", "rail-only", "dragonfly", "torus"] | None = None
    switch: str = "eth-51t2-400g"
    media: Literal["auto", "copper-first", "optics", "lpo", "cpo"] = "auto"
    oversubscription: float = Field(1.0, ge=1, le=64)


class FabricRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    topology: str = Field("rail-optimized", description="one or several (comma-separated) topologies")
    endpoints: int = Field(..., ge=1, le=MAX_DEVICES)
    switch: str = "eth-51t2-400g"
    media: Literal["auto", "copper-first", "optics", "lpo", "cpo"] = "auto"
    oversubscription: float = Field(1.0, ge=1, le=64)
    rails: int | None = Field(None, ge=1, le=1024)
    radix: int | None = Field(None, ge=4, le=4096)


class ServeRequest(BaseModel):
    """One serving estimate: the TP degree and batch with the most output tokens/s within memory and SLOs."""

    model_config = ConfigDict(extra="forbid")
    model: str = "llama2-70b"
    accelerator: str = "h100-sxm5-80gb"
    devices: int = Field(8, ge=1, le=MAX_DEVICES)
    input_len: float = Field(..., ge=1, le=10_000_000, description="mean prompt tokens")
    output_len: float = Field(..., ge=1, le=10_000_000, description="mean generated tokens")
    precision: Literal["fp32", "bf16", "fp16", "fp8", "fp4", "int8", "int4"] = "fp8"
    kv_precision: Literal["fp32", "bf16", "fp16", "fp8", "fp4", "int8", "int4"] | None = None
    ttft_slo: float | None = Field(None, gt=0, le=3600, description="seconds")
    tpot_slo: float | None = Field(None, gt=0, le=3600, description="seconds")
    slo_percentile: float = Field(50.0, ge=1, le=99.9, description="share of requests meeting the SLOs, %")
    kv_admission: Literal["reserve", "on-demand"] = "reserve"
    tp: int | None = Field(None, ge=1, le=MAX_DEVICES)
    ep: int | None = Field(None, ge=1, le=MAX_DEVICES, description="MoE expert parallelism (attention groups)")
    disaggregate: bool = Field(False, description="prefill and decode on separate pools (P:D split searched)")
    prefill_devices: int | None = Field(None, ge=1, le=MAX_DEVICES, description="prefill pool size (disaggregates)")
    power_cap_w: float | None = Field(None, gt=0, le=100_000, description="board power limit per device, W")


class PlanRequest(BaseModel):
    """A design-space search: the tables of a plan config (see examples/*.toml) as JSON."""

    model_config = ConfigDict(extra="forbid")
    workload: dict[str, Any]
    menu: dict[str, Any] = Field(default_factory=dict)
    plan: dict[str, Any] = Field(default_factory=dict)
    constraints: dict[str, Any] = Field(default_factory=dict)
    output: dict[str, Any] = Field(default_factory=dict)


def _plan_payload(body: str) -> str:
    """Search a bounded space in this process (one worker) and return the report as JSON text."""
    from flopwatt.search import config, engine

    try:
        cfg = config.from_dict(json.loads(body), "request")
    except (TypeError, ValueError, KeyError, AttributeError) as exc:  # malformed values inside the tables
        if isinstance(exc, InputError):
            raise
        raise InputError("request", f"a plan config of the documented shape ({type(exc).__name__}: {exc})") from exc
    groups, items = engine.work_items(cfg)
    settings = len(cfg.sites) * len(cfg.cooling)
    configurations = sum(stop - start for _, start, stop in items) * settings
    if configurations > MAX_SEARCH_CONFIGURATIONS:
        raise InputError("menu", f"at most {MAX_SEARCH_CONFIGURATIONS:,} configurations per request "
                         "(run `flopwatt plan` for larger spaces)", f"{configurations:,}")
    report = engine.search(cfg, workers=1)
    return json.dumps({"configurations": report.configurations, "feasible_after_constraints": report.feasible,
                       "infeasible": report.infeasible, "eliminated": report.eliminated,
                       "pareto_front": report.front, "top": report.top}, default=_json_default)


def _argv(command: list[str], request: BaseModel) -> list[str]:
    argv = list(command)
    for key, value in request.model_dump(exclude_none=True).items():
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            argv.append(flag if value else "--no-" + key.replace("_", "-"))
        else:
            argv.append(f"{flag}={value}")  # '=' keeps a value like '--help' from reading as an option
    return argv + ["--json"]


@functools.lru_cache(maxsize=64)
def _cached_plan(body: str) -> str:
    return _plan_payload(body)


@functools.lru_cache(maxsize=512)
def _cached(argv: tuple[str, ...]) -> str:
    """The JSON answer to one argument list: every command here is a pure function of its arguments
    and the shipped catalog, so repeated questions (a page re-rendered, a sweep re-run) are served
    from memory. Errors are not cached."""
    payload, _ = run_command(list(argv))
    return json.dumps(payload, default=_json_default)


async def _run(argv: list[str] | None = None, plan_body: str | None = None) -> JSONResponse:
    if plan_body is not None:
        work = functools.partial(_cached_plan, plan_body)
    else:
        work = functools.partial(_cached, tuple(argv))
    try:
        text = await asyncio.wait_for(asyncio.to_thread(work), TIMEOUT_S)
    except InputError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    except SystemExit as exc:  # argparse's own exits (help, version) are never a server error
        raise HTTPException(status_code=400, detail="invalid request") from exc
    except TimeoutError as exc:
        raise HTTPException(status_code=408, detail=f"request took over {TIMEOUT_S:g} s; narrow it") from exc
    return JSONResponse(json.loads(text))


def create_app() -> FastAPI:
    app = FastAPI(title="flopwatt", version="1", description="Planner and simulator for AI infrastructure.")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> str:
        return resources.files("flopwatt.server").joinpath("page.html").read_text(encoding="utf-8")

    @app.post("/v1/train", summary="Estimate a training run (time, memory, energy, money, carbon)")
    async def train(request: TrainRequest) -> JSONResponse:
        return await _run(_argv(["train"], request))

    @app.post("/v1/fabric", summary="Design a scale-out fabric: counts, bill of materials, $ and W")
    async def fabric(request: FabricRequest) -> JSONResponse:
        return await _run(_argv(["fabric"], request))

    @app.post("/v1/serve", summary="Estimate LLM serving: tokens/s, TTFT/TPOT, J/token (see README accuracy)")
    async def serve_estimate(request: ServeRequest) -> JSONResponse:
        return await _run(_argv(["serve"], request))

    @app.post("/v1/plan", summary="Search a bounded design space: Pareto front of time, $, MWh, tCO2e")
    async def plan(request: PlanRequest) -> JSONResponse:
        return await _run(plan_body=json.dumps(request.model_dump(), sort_keys=True))

    @app.get("/v1/catalog/{kind}", summary="List catalog entries with their sources")
    async def catalog_list(kind: Kind) -> JSONResponse:
        return await _run(["catalog", kind, "--json"])

    @app.get("/v1/catalog/{kind}/{entry}", summary="One catalog entry with its sources")
    async def catalog_entry(kind: Kind, entry: str) -> JSONResponse:
        if entry.startswith("-"):
            raise HTTPException(status_code=400, detail=f"entry: expected a catalog id, got {entry!r}")
        return await _run(["catalog", kind, entry, "--json"])

    return app


def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    import uvicorn

    uvicorn.run(create_app(), host=host, port=port, log_level="warning")


def openapi() -> dict[str, Any]:
    return create_app().openapi()
