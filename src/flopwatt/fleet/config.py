"""``flopwatt fleet`` configuration: sites, pools, job classes, jobs, services (TOML, exact keys).

    [fleet]          name, start_utc (TOML datetime: where trace time 0 falls in the calendar, for
                     hourly grid profiles), seed, service_interval_s, horizon_s, market (optional
                     markets.toml id: a pool whose accelerator its rules do not allow is an error)
    [sites.ID]       cooling (catalog id), pue (optional measured PUE instead of the estimate),
                     rtt_s = { region = seconds } (optional: the user's round trips to user regions, on top
                     of the catalog's; the latency-aware policy and SLO budgets use them)
    [pools.ID]       site, accelerator or system, devices
    [classes.ID]     model, seq_len, global_batch, stack, precision, share (weight when trace jobs are
                     given a class), deadline_factor (optional: trace jobs of this class may finish by
                     arrival + factor x their traced duration; without it they are not flexible)
    [trace]          path (relative to the config file) or synthetic_jobs + mean_interarrival_s (a seeded
                     Philly-like trace), reference_accelerator (the device the traced durations were
                     measured on), max_jobs, synthetic_scale (with path: that many times the file's jobs,
                     resampled from it, :func:`flopwatt.fleet.traces.resample_training`), seed (of that
                     resampling; default [fleet].seed)
    [[jobs]]         class, arrival_s, devices or devices_min/devices_max, tokens or duration_s (on the
                     reference accelerator), deadline_s
    [services.ID]    model, user_region, precision, ttft_slo_s, tpot_slo_s, rate_per_s or trace (an
                     Azure LLM inference trace, replayed cyclically), rate_scale, input_len/output_len
                     (means; taken from the trace when it is given)

Catalog ids are resolved here, so every unknown id or bad value is one InputError naming its field.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flopwatt import catalog
from flopwatt.api.resolve import catalog_model
from flopwatt.errors import InputError, unknown_id
from flopwatt.specs import ModelSpec, StackProfile, System
from flopwatt.specs._check import required as _need
from flopwatt.specs._check import table_keys as _keys
from flopwatt.specs.site import Cooling, Site

TABLES = {
    "fleet": {"name", "start_utc", "seed", "service_interval_s", "horizon_s", "market"},
    "site": {"cooling", "pue", "rtt_s"},
    "pool": {"site", "accelerator", "system", "devices"},
    "class": {"model", "seq_len", "global_batch", "stack", "precision", "share", "deadline_factor"},
    "trace": {"path", "synthetic_jobs", "mean_interarrival_s", "reference_accelerator", "max_jobs",
              "synthetic_scale", "seed"},
    "job": {"class", "arrival_s", "devices", "devices_min", "devices_max", "tokens", "duration_s", "deadline_s"},
    "service": {"model", "user_region", "precision", "ttft_slo_s", "tpot_slo_s", "rate_per_s", "trace",
                "rate_scale", "input_len", "output_len"},
}
TOP_LEVEL = ("fleet", "sites", "pools", "classes", "trace", "jobs", "services")


@dataclass(frozen=True, kw_only=True, slots=True)
class FleetSite:
    site: Site
    cooling: Cooling
    pue_override: float | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Pool:
    """``devices`` accelerators of one system type at one site."""

    id: str
    site: str
    system: System
    devices: int


@dataclass(frozen=True, kw_only=True, slots=True)
class JobClass:
    """A kind of training job: what one job of the class trains, and how flexible its deadline is."""

    id: str
    model: ModelSpec
    seq_len: int
    global_batch: int
    stack: StackProfile
    precision: str | None = None
    """Matmul precision; None = each accelerator's 16-bit format."""
    share: float = 1.0
    deadline_factor: float | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class JobSpec:
    """One explicitly listed training job (trace jobs are arrays, see :mod:`flopwatt.fleet.jobs`)."""

    job_class: str
    arrival_s: float
    devices_min: int
    devices_max: int
    tokens: float | None = None
    duration_s: float | None = None
    deadline_s: float | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Service:
    """An inference service: a model answering a user region's requests under TTFT/TPOT targets."""

    id: str
    model: ModelSpec
    user_region: str
    precision: str
    ttft_slo_s: float
    tpot_slo_s: float
    rate_per_s: float | None = None
    trace: Path | None = None
    rate_scale: float = 1.0
    input_len: float | None = None
    output_len: float | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class TraceSpec:
    path: Path | None
    """None: a synthetic trace of ``synthetic_jobs`` jobs (:func:`flopwatt.fleet.traces.synthetic_training`)."""
    reference_accelerator: str
    max_jobs: int | None = None
    synthetic_jobs: int | None = None
    mean_interarrival_s: float | None = None
    synthetic_scale: float | None = None
    """With ``path``: the trace is resampled to this many times its jobs (None: the file as it is)."""
    seed: int | None = None
    """Seed of the resampling (None: [fleet].seed, or --seed)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class FleetConfig:
    name: str
    start_s_of_year: float
    """Seconds from 1 January 00:00 UTC to trace time 0 (grid profiles are indexed by it)."""
    seed: int
    service_interval_s: float
    horizon_s: float | None
    sites: dict[str, FleetSite]
    pools: tuple[Pool, ...]
    classes: dict[str, JobClass]
    jobs: tuple[JobSpec, ...]
    services: tuple[Service, ...]
    trace: TraceSpec | None
    market: str | None = None


def _number(where: str, value: Any, *, minimum: float = 0.0, strict: bool = True, integer: bool = False) -> Any:
    ok = isinstance(value, int if integer else (int, float)) and not isinstance(value, bool)
    if ok and value == value and abs(value) != float("inf"):
        ok = value > minimum if strict else value >= minimum
    else:
        ok = False
    if not ok:
        kind = "an integer" if integer else "a number"
        raise InputError(where, f"{kind} {'>' if strict else '>='} {minimum:g}", value)
    return value


def _opt(where: str, table: dict[str, Any], key: str, **kw: Any) -> Any:
    return _number(f"{where}.{key}", table[key], **kw) if key in table else None


def _start_s_of_year(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, dt.datetime):
        when = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    elif isinstance(value, dt.date):
        when = dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    else:
        raise InputError("[fleet].start_utc", "a TOML date-time such as 2026-03-02T00:00:00Z", value)
    when = when.astimezone(dt.UTC)
    return (when - dt.datetime(when.year, 1, 1, tzinfo=dt.UTC)).total_seconds()


def _sites(raw: Any) -> dict[str, FleetSite]:
    if not isinstance(raw, dict) or not raw:
        raise InputError("[sites]", "at least one [sites.ID] table naming a catalog site")
    out = {}
    for sid, table in raw.items():
        where = f"[sites.{sid}]"
        _keys(where, table, TABLES["site"])
        site = catalog.get("sites", sid) if sid in catalog.sites() else None
        if site is None:
            raise unknown_id(where, sid, catalog.sites())
        cooling = catalog.get("cooling", table.get("cooling", "air"))
        if "rtt_s" in table:
            site = dataclasses.replace(site, wan_rtt_s={**site.wan_rtt_s, **_rtt(f"{where}.rtt_s", table["rtt_s"])})
        out[sid] = FleetSite(site=site, cooling=cooling, pue_override=_opt(where, table, "pue", minimum=1.0,
                                                                            strict=False))
    return out


def _rtt(where: str, value: Any) -> dict[str, float]:
    """{ region = seconds } with every round trip a number > 0 (as the catalog's own figures)."""
    if not isinstance(value, dict) or not value:
        raise InputError(where, "a table { region = seconds } with at least one region", value)
    return {str(k): float(_number(f"{where}.{k}", v)) for k, v in value.items()}


def _system(where: str, table: dict[str, Any]) -> System:
    if "system" in table:
        system = catalog.get("systems", table["system"])
        if "accelerator" in table and table["accelerator"] != system.accelerator.id:
            raise InputError(f"{where}.system", f"a system of {table['accelerator']} devices", table["system"])
        return system
    return catalog.system_for(_need(where, table, "accelerator"))


def _pools(raw: Any, sites: dict[str, FleetSite]) -> tuple[Pool, ...]:
    if not isinstance(raw, dict) or not raw:
        raise InputError("[pools]", "at least one [pools.ID] table (site, accelerator, devices)")
    out = []
    for pid, table in raw.items():
        where = f"[pools.{pid}]"
        _keys(where, table, TABLES["pool"])
        site = _need(where, table, "site")
        if site not in sites:
            raise unknown_id(f"{where}.site", str(site), sites)
        devices = _number(f"{where}.devices", _need(where, table, "devices"), integer=True)
        out.append(Pool(id=pid, site=site, system=_system(where, table), devices=devices))
    return tuple(out)


def _market(market: Any, pools: tuple[Pool, ...]) -> str | None:
    """The fleet's market: each pool's accelerator must be allowed there (catalog markets.toml)."""
    if market is None:
        return None
    from flopwatt.catalog import markets

    if not isinstance(market, str) or market not in markets.markets():
        raise unknown_id("[fleet].market", str(market), markets.markets())
    for pool in pools:
        ok, rule = markets.allowed(market, pool.system.accelerator.id)
        if not ok:
            raise InputError(f"[pools.{pool.id}]", f"an accelerator allowed in market {market} ({rule})",
                             pool.system.accelerator.id)
    return market


def _classes(raw: Any) -> dict[str, JobClass]:
    if not isinstance(raw, dict) or not raw:
        raise InputError("[classes]", "at least one [classes.ID] table (model, seq_len, global_batch)")
    out = {}
    for cid, table in raw.items():
        where = f"[classes.{cid}]"
        _keys(where, table, TABLES["class"])
        model = catalog_model(_need(where, table, "model"), f"{where}.model")
        seq = table.get("seq_len", model.seq_len)
        out[cid] = JobClass(
            id=cid, model=model, seq_len=_number(f"{where}.seq_len", seq, integer=True),
            global_batch=_number(f"{where}.global_batch", _need(where, table, "global_batch"), integer=True),
            stack=catalog.get("stacks", table.get("stack", "megatron-core")), precision=table.get("precision"),
            share=_number(f"{where}.share", table.get("share", 1.0), strict=False),
            deadline_factor=_opt(where, table, "deadline_factor", minimum=1.0, strict=False))
    return out


def _job(i: int, table: Any, classes: dict[str, JobClass]) -> JobSpec:
    where = f"[[jobs]] #{i + 1}"
    _keys(where, table, TABLES["job"])
    cls = _need(where, table, "class")
    if cls not in classes:
        raise unknown_id(f"{where}.class", str(cls), classes)
    if ("tokens" in table) == ("duration_s" in table):
        raise InputError(f"{where}.tokens", "exactly one of tokens or duration_s (on the reference accelerator)")
    if "devices" in table:
        lo = hi = _number(f"{where}.devices", table["devices"], integer=True)
    else:
        lo = _number(f"{where}.devices_min", _need(where, table, "devices_min"), integer=True)
        hi = _number(f"{where}.devices_max", _need(where, table, "devices_max"), integer=True)
        if hi < lo:
            raise InputError(f"{where}.devices_max", f"a count >= devices_min ({lo})", hi)
    arrival = _number(f"{where}.arrival_s", table.get("arrival_s", 0.0), strict=False)
    deadline = _opt(where, table, "deadline_s")
    if deadline is not None and deadline <= arrival:
        raise InputError(f"{where}.deadline_s", f"a time after arrival_s ({arrival})", deadline)
    return JobSpec(job_class=cls, arrival_s=float(arrival), devices_min=lo, devices_max=hi,
                   tokens=_opt(where, table, "tokens"), duration_s=_opt(where, table, "duration_s"),
                   deadline_s=deadline)


def _service(sid: str, table: Any, base: Path, sites: dict[str, FleetSite]) -> Service:
    where = f"[services.{sid}]"
    _keys(where, table, TABLES["service"])
    region = _need(where, table, "user_region")
    regions = {r for s in sites.values() for r in s.site.wan_rtt_s}
    if region not in regions:
        raise InputError(f"{where}.user_region", f"a region with a known round-trip time from a fleet site "
                         f"({', '.join(sorted(regions)) or 'none listed'})", region)
    if ("rate_per_s" in table) == ("trace" in table):
        raise InputError(f"{where}.rate_per_s", "exactly one of rate_per_s or trace")
    if "trace" not in table and not {"input_len", "output_len"} <= set(table):
        raise InputError(f"{where}.input_len", "input_len and output_len (mean tokens) when no trace is given")
    return Service(
        id=sid, model=catalog_model(_need(where, table, "model"), f"{where}.model"), user_region=region,
        precision=table.get("precision", "fp8"),
        ttft_slo_s=_number(f"{where}.ttft_slo_s", _need(where, table, "ttft_slo_s")),
        tpot_slo_s=_number(f"{where}.tpot_slo_s", _need(where, table, "tpot_slo_s")),
        rate_per_s=_opt(where, table, "rate_per_s"),
        trace=(base / table["trace"]) if "trace" in table else None,
        rate_scale=_number(f"{where}.rate_scale", table.get("rate_scale", 1.0)),
        input_len=_opt(where, table, "input_len", minimum=1.0, strict=False),
        output_len=_opt(where, table, "output_len", minimum=1.0, strict=False))


def _trace(raw: Any, base: Path) -> TraceSpec | None:
    if raw is None:
        return None
    _keys("[trace]", raw, TABLES["trace"])
    ref = _need("[trace]", raw, "reference_accelerator")
    catalog.system_for(ref)
    if ("path" in raw) == ("synthetic_jobs" in raw):
        raise InputError("[trace].path", "exactly one of path or synthetic_jobs (with mean_interarrival_s)")
    synthetic = _opt("[trace]", raw, "synthetic_jobs", integer=True)
    if synthetic is not None and "mean_interarrival_s" not in raw:
        raise InputError("[trace].mean_interarrival_s", "a value (required with synthetic_jobs)")
    for key in ("synthetic_scale", "seed"):
        if key in raw and "path" not in raw:
            raise InputError(f"[trace].{key}", "a [trace].path to resample from")
    return TraceSpec(path=base / raw["path"] if "path" in raw else None, reference_accelerator=ref,
                     max_jobs=_opt("[trace]", raw, "max_jobs", integer=True), synthetic_jobs=synthetic,
                     mean_interarrival_s=_opt("[trace]", raw, "mean_interarrival_s"),
                     synthetic_scale=_opt("[trace]", raw, "synthetic_scale"),
                     seed=_opt("[trace]", raw, "seed", integer=True, strict=False))


def parse_config(data: dict[str, Any], base: Path) -> FleetConfig:
    """Build a FleetConfig from parsed TOML; relative paths are taken from ``base``."""
    _keys("config", data, set(TOP_LEVEL))
    head = _keys("[fleet]", data.get("fleet", {}), TABLES["fleet"])
    sites = _sites(data.get("sites"))
    classes = _classes(data.get("classes"))
    jobs = data.get("jobs", [])
    if not isinstance(jobs, list):
        raise InputError("[[jobs]]", "an array of tables")
    services = data.get("services", {})
    if not isinstance(services, dict):
        raise InputError("[services]", "tables [services.ID]")
    trace = _trace(data.get("trace"), base)
    pools = _pools(data.get("pools"), sites)
    market = _market(head.get("market"), pools)
    if trace is None and not jobs:
        raise InputError("[trace]", "a training trace or at least one [[jobs]] entry")
    return FleetConfig(
        name=str(head.get("name", "fleet")), start_s_of_year=_start_s_of_year(head.get("start_utc")),
        seed=_number("[fleet].seed", head.get("seed", 0), integer=True, strict=False),
        service_interval_s=_number("[fleet].service_interval_s", head.get("service_interval_s", 300.0)),
        horizon_s=_opt("[fleet]", head, "horizon_s"), sites=sites, pools=pools, market=market,
        classes=classes, jobs=tuple(_job(i, j, classes) for i, j in enumerate(jobs)),
        services=tuple(_service(k, v, base, sites) for k, v in services.items()), trace=trace)


def load_config(path: Path) -> FleetConfig:
    return parse_config(catalog.read_toml(Path(path), "config"), Path(path).resolve().parent)
