"""``flopwatt capacity`` configuration (TOML, exact keys) -> frozen dataclasses.

    [capacity]       name, first_year, last_year, step ("year" or "quarter")
    [policy]         refresh_years, utilisation_target, redundancy, budget_usd_per_year (optional),
                     training_estimate_devices, serving_estimate_devices, wan_bandwidth_bytes_per_s (optional:
                     needed when training data must move between sites), fabric_topology (optional: the
                     scale-out topology whose switches and links join the training estimate and its power)
    [hardware.ID]    accelerator (catalog id), available_from, available_until (optional), supply_per_year
                     (optional; devices per year, absent = unlimited), price_factor (optional, default 1),
                     tiers (list of "cloud", "edge", "device")
    [sites.ID]       site (catalog id), tier, cooling (catalog id), pue (optional measured PUE),
                     mw_available = { YEAR = facility MW from that year on }, carbon_g_per_kwh and
                     electricity_usd_per_kwh (optional trajectories { YEAR = value }, linear between years,
                     flat outside; default the catalog's figure), rtt_s = { region = seconds } (optional,
                     over the catalog's WAN figures), hardware (optional list of hardware ids)
    [training.ID]    model, tokens, year, deadline_days, global_batch, seq_len (optional), stack (optional,
                     default megatron-core), precision (optional), data_site and data_bytes (optional: where the
                     training data lives and how much of it there is), sites (optional list; default the
                     cloud-tier sites)
    [serving.ID]     model, region, first_year, requests_per_s or output_tokens_per_day, input_len, output_len,
                     ttft_slo_s, tpot_slo_s, growth_per_year, precision (optional, default fp8), tiers (optional
                     list, default all), last_year (optional)

Every policy number is the user's and is echoed in the output; every catalog id is resolved here, so a
typo or a bad value is one :class:`~flopwatt.errors.InputError` naming its field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flopwatt import catalog
from flopwatt.catalog import wan
from flopwatt.errors import InputError, unknown_id
from flopwatt.specs import ModelSpec, StackProfile, System
from flopwatt.specs.site import Cooling, Site

TIERS = ("cloud", "edge", "device")
STEPS = ("year", "quarter")
TABLES = {
    "capacity": {"name", "first_year", "last_year", "step"},
    "policy": {"refresh_years", "utilisation_target", "redundancy", "budget_usd_per_year",
               "training_estimate_devices", "serving_estimate_devices", "wan_bandwidth_bytes_per_s",
               "fabric_topology"},
    "hardware": {"accelerator", "available_from", "available_until", "supply_per_year", "price_factor", "tiers"},
    "sites": {"site", "tier", "cooling", "pue", "mw_available", "carbon_g_per_kwh", "electricity_usd_per_kwh",
              "rtt_s", "hardware"},
    "training": {"model", "tokens", "year", "deadline_days", "global_batch", "seq_len", "stack", "precision",
                 "data_site", "data_bytes", "sites"},
    "serving": {"model", "region", "first_year", "last_year", "requests_per_s", "output_tokens_per_day", "input_len",
                "output_len", "ttft_slo_s", "tpot_slo_s", "growth_per_year", "precision", "tiers"},
}
TOP_LEVEL = ("capacity", "policy", "hardware", "sites", "training", "serving")


@dataclass(frozen=True, kw_only=True, slots=True)
class Policy:
    refresh_years: int
    """Devices retire this many years after purchase."""
    utilisation_target: float
    """Share of a serving device's SLO-feasible throughput the plan may count on (headroom for peaks)."""
    redundancy: float
    """Spare devices as a share of the working ones (N + redundancy x N)."""
    budget_usd_per_year: float | None
    """Capex (devices + facility) per year; None = unlimited."""
    training_estimate_devices: int
    """Device count at which each (model, accelerator) training estimate is made (tokens/s per device)."""
    serving_estimate_devices: int
    """Device count of the serving estimate (one replica group) of each (model, accelerator)."""
    wan_bandwidth_bytes_per_s: float | None
    fabric_topology: str | None = None
    """Scale-out topology of training clusters (fabric.network.TOPOLOGIES); None = an ideal network that
    draws no power (flagged in the output)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Hardware:
    id: str
    system: System
    available_from: int
    available_until: int | None
    supply_per_year: float | None
    price_factor: float
    tiers: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class PlanSite:
    """A catalog site with the plan's power, grid trajectories, latency overrides and tier."""

    id: str
    site: Site
    tier: str
    cooling: Cooling
    pue_override: float | None
    mw_available: tuple[tuple[int, float], ...]
    """(year, facility MW available from that year on), years ascending."""
    carbon_g_per_kwh: tuple[tuple[int, float], ...]
    electricity_usd_per_kwh: tuple[tuple[int, float], ...]
    rtt_s: dict[str, float]
    """Round trip to user regions: the catalog's WAN table and the site's figures, the user's on top."""
    hardware: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class TrainingDemand:
    id: str
    model: ModelSpec
    tokens: float
    year: int
    deadline_s: float
    global_batch: int
    seq_len: int
    stack: StackProfile
    precision: str | None
    data_site: str | None
    data_bytes: float | None
    sites: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class ServingDemand:
    id: str
    model: ModelSpec
    region: str
    first_year: int
    last_year: int | None
    output_tokens_per_s: float
    """In ``first_year``; grows by ``growth_per_year`` a year."""
    input_len: float
    output_len: float
    ttft_slo_s: float
    tpot_slo_s: float
    growth_per_year: float
    precision: str
    tiers: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class CapacityConfig:
    name: str
    first_year: int
    last_year: int
    step: str
    policy: Policy
    hardware: dict[str, Hardware]
    sites: dict[str, PlanSite]
    training: tuple[TrainingDemand, ...]
    serving: tuple[ServingDemand, ...]


def _keys(where: str, table: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise InputError(where, "a table")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise InputError(f"{where}.{unknown[0]}", f"one of the known keys ({', '.join(sorted(allowed))})")
    return table


def _need(where: str, table: dict[str, Any], key: str) -> Any:
    if key not in table:
        raise InputError(f"{where}.{key}", "a value (required key is missing)")
    return table[key]


def number(where: str, value: Any, *, minimum: float = 0.0, strict: bool = True, integer: bool = False,
           maximum: float | None = None) -> Any:
    """``value`` if it is a finite number (an integer when asked) above ``minimum`` (and <= ``maximum``)."""
    ok = isinstance(value, int if integer else (int, float)) and not isinstance(value, bool)
    ok = ok and math.isfinite(value) and (value > minimum if strict else value >= minimum)
    ok = ok and (maximum is None or value <= maximum)
    if not ok:
        kind = "an integer" if integer else "a number"
        upper = f" and <= {maximum:g}" if maximum is not None else ""
        raise InputError(where, f"{kind} {'>' if strict else '>='} {minimum:g}{upper}", value)
    return value


def _opt(where: str, table: dict[str, Any], key: str, **kw: Any) -> Any:
    return number(f"{where}.{key}", table[key], **kw) if key in table else None


def _year(where: str, value: Any) -> int:
    return number(where, value, minimum=1900, integer=True, maximum=2200)


def _ids(where: str, value: Any, known: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise InputError(where, "a non-empty list of ids", value)
    for item in value:
        if item not in known:
            raise unknown_id(where, str(item), known)
    return tuple(value)


def _trajectory(where: str, value: Any, **kw: Any) -> tuple[tuple[int, float], ...]:
    """{ "2026" = x, "2030" = y } -> ((2026, x), (2030, y)); keys are years."""
    if not isinstance(value, dict) or not value:
        raise InputError(where, "a table { YEAR = value, ... } with at least one year", value)
    out = []
    for key, v in value.items():
        if not (isinstance(key, str) and key.isdigit()):
            raise InputError(f"{where}.{key}", "a year such as 2027 as the key")
        out.append((_year(f"{where}.{key}", int(key)), float(number(f"{where}.{key}", v, **kw))))
    return tuple(sorted(out))


def _policy(raw: Any) -> Policy:
    where = "[policy]"
    table = _keys(where, raw, TABLES["policy"])
    return Policy(
        refresh_years=number(f"{where}.refresh_years", _need(where, table, "refresh_years"), integer=True),
        utilisation_target=number(f"{where}.utilisation_target", _need(where, table, "utilisation_target"),
                                  maximum=1.0),
        redundancy=number(f"{where}.redundancy", _need(where, table, "redundancy"), strict=False),
        budget_usd_per_year=_opt(where, table, "budget_usd_per_year", strict=False),
        training_estimate_devices=number(f"{where}.training_estimate_devices",
                                         _need(where, table, "training_estimate_devices"), integer=True),
        serving_estimate_devices=number(f"{where}.serving_estimate_devices",
                                        _need(where, table, "serving_estimate_devices"), integer=True),
        wan_bandwidth_bytes_per_s=_opt(where, table, "wan_bandwidth_bytes_per_s"),
        fabric_topology=_topology(f"{where}.fabric_topology", table.get("fabric_topology")))


def _topology(where: str, value: Any) -> str | None:
    from flopwatt.fabric.network import TOPOLOGIES

    if value is not None and value not in TOPOLOGIES:
        raise InputError(where, f"one of {', '.join(TOPOLOGIES)}", value)
    return value


def _tiers(where: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or any(t not in TIERS for t in value):
        raise InputError(where, f"a non-empty list of {', '.join(TIERS)}", value)
    return tuple(value)


def _hardware(raw: Any) -> dict[str, Hardware]:
    if not isinstance(raw, dict) or not raw:
        raise InputError("[hardware]", "at least one [hardware.ID] table (accelerator, available_from)")
    out = {}
    for hid, table in raw.items():
        where = f"[hardware.{hid}]"
        _keys(where, table, TABLES["hardware"])
        system = catalog.system_for(_need(where, table, "accelerator"))
        start = _year(f"{where}.available_from", _need(where, table, "available_from"))
        until = _year(f"{where}.available_until", table["available_until"]) if "available_until" in table else None
        if until is not None and until < start:
            raise InputError(f"{where}.available_until", f"a year >= available_from ({start})", until)
        out[hid] = Hardware(id=hid, system=system, available_from=start, available_until=until,
                            supply_per_year=_opt(where, table, "supply_per_year", strict=False),
                            price_factor=float(number(f"{where}.price_factor", table.get("price_factor", 1.0))),
                            tiers=_tiers(f"{where}.tiers", _need(where, table, "tiers")))
    return out


def _site(sid: str, table: Any, hardware: dict[str, Hardware]) -> PlanSite:
    where = f"[sites.{sid}]"
    _keys(where, table, TABLES["sites"])
    site = catalog.get("sites", _need(where, table, "site"))
    tier = _need(where, table, "tier")
    if tier not in TIERS:
        raise InputError(f"{where}.tier", f"one of {', '.join(TIERS)}", tier)
    rtt = {**wan.site_rtt_s(site), **_rtt(f"{where}.rtt_s", table.get("rtt_s", {}))}
    allowed = _ids(f"{where}.hardware", table["hardware"], hardware) if "hardware" in table else tuple(
        h for h, hw in hardware.items() if tier in hw.tiers)
    for hid in allowed:
        if tier not in hardware[hid].tiers:
            raise InputError(f"{where}.hardware", f"hardware of the {tier} tier ({hid} is {hardware[hid].tiers})", hid)
    return PlanSite(
        id=sid, site=site, tier=tier, cooling=catalog.get("cooling", _need(where, table, "cooling")),
        pue_override=_opt(where, table, "pue", minimum=1.0, strict=False),
        mw_available=_trajectory(f"{where}.mw_available", _need(where, table, "mw_available"), strict=False),
        carbon_g_per_kwh=_trajectory(f"{where}.carbon_g_per_kwh", table.get(
            "carbon_g_per_kwh", {str(site.carbon_year): site.carbon_g_per_kwh}), strict=False),
        electricity_usd_per_kwh=_trajectory(f"{where}.electricity_usd_per_kwh", table.get(
            "electricity_usd_per_kwh", {str(site.electricity_year): site.electricity_usd_per_kwh}), strict=False),
        rtt_s=rtt, hardware=allowed)


def _rtt(where: str, value: Any) -> dict[str, float]:
    if not isinstance(value, dict):
        raise InputError(where, "a table { region = seconds }", value)
    return {str(k): float(number(f"{where}.{k}", v, strict=False)) for k, v in value.items()}


def _training(tid: str, table: Any, sites: dict[str, PlanSite]) -> TrainingDemand:
    where = f"[training.{tid}]"
    _keys(where, table, TABLES["training"])
    model = catalog.get("models", _need(where, table, "model"))
    seq = table.get("seq_len", model.seq_len)
    if seq is None:
        raise InputError(f"{where}.seq_len", f"a value ({model.id} has no published context length)")
    data_site = table.get("data_site")
    if data_site is not None and data_site not in sites:
        raise unknown_id(f"{where}.data_site", str(data_site), sites)
    if (data_site is None) != ("data_bytes" not in table):
        raise InputError(f"{where}.data_bytes", "data_site and data_bytes together (or neither)")
    return TrainingDemand(
        id=tid, model=model, tokens=float(number(f"{where}.tokens", _need(where, table, "tokens"))),
        year=_year(f"{where}.year", _need(where, table, "year")),
        deadline_s=float(number(f"{where}.deadline_days", _need(where, table, "deadline_days"), maximum=366)) * 86400,
        global_batch=number(f"{where}.global_batch", _need(where, table, "global_batch"), integer=True),
        seq_len=number(f"{where}.seq_len", seq, integer=True),
        stack=catalog.get("stacks", table.get("stack", "megatron-core")),
        precision=_precision(f"{where}.precision", table.get("precision"), _training_precisions()),
        data_site=data_site, data_bytes=_opt(where, table, "data_bytes"),
        sites=_ids(f"{where}.sites", table["sites"], sites) if "sites" in table else tuple(
            k for k, v in sites.items() if v.tier == "cloud"))


def _serving(sid: str, table: Any) -> ServingDemand:
    where = f"[serving.{sid}]"
    _keys(where, table, TABLES["serving"])
    if ("requests_per_s" in table) == ("output_tokens_per_day" in table):
        raise InputError(f"{where}.requests_per_s", "exactly one of requests_per_s or output_tokens_per_day")
    output_len = float(number(f"{where}.output_len", _need(where, table, "output_len"), minimum=1, strict=False))
    rate = (float(number(f"{where}.requests_per_s", table["requests_per_s"])) * output_len
            if "requests_per_s" in table else float(number(f"{where}.output_tokens_per_day",
                                                           table["output_tokens_per_day"])) / 86400.0)
    first = _year(f"{where}.first_year", _need(where, table, "first_year"))
    last = _year(f"{where}.last_year", table["last_year"]) if "last_year" in table else None
    if last is not None and last < first:
        raise InputError(f"{where}.last_year", f"a year >= first_year ({first})", last)
    return ServingDemand(
        id=sid, model=catalog.get("models", _need(where, table, "model")), region=str(_need(where, table, "region")),
        first_year=first, last_year=last, output_tokens_per_s=rate,
        input_len=float(number(f"{where}.input_len", _need(where, table, "input_len"), minimum=1, strict=False)),
        output_len=output_len, ttft_slo_s=float(number(f"{where}.ttft_slo_s", _need(where, table, "ttft_slo_s"))),
        tpot_slo_s=float(number(f"{where}.tpot_slo_s", _need(where, table, "tpot_slo_s"))),
        growth_per_year=float(number(f"{where}.growth_per_year", _need(where, table, "growth_per_year"),
                                     minimum=-1.0)),
        precision=_precision(f"{where}.precision", table.get("precision", "fp8"), _serving_precisions()),
        tiers=_tiers(f"{where}.tiers", table["tiers"]) if "tiers" in table else TIERS)


def _training_precisions() -> tuple[str, ...]:
    from flopwatt.specs.hardware import PRECISIONS

    return tuple(PRECISIONS)


def _serving_precisions() -> tuple[str, ...]:
    from flopwatt.perf.serving import BYTES

    return tuple(BYTES)


def _precision(where: str, value: Any, allowed: tuple[str, ...]) -> Any:
    if value is not None and value not in allowed:
        raise InputError(where, f"one of {', '.join(allowed)}", value)
    return value


def _check_regions(serving: tuple[ServingDemand, ...], sites: dict[str, PlanSite]) -> None:
    """Every service's users are a region some plan site has a round trip to (else a typo, as in fleet)."""
    regions = {r for s in sites.values() for r in s.rtt_s}
    for s in serving:
        if s.region not in regions:
            raise InputError(f"[serving.{s.id}].region", f"a region with a known round-trip time from a plan "
                             f"site ({', '.join(sorted(regions)) or 'none'}; add [sites.ID].rtt_s)", s.region)


def _tables(data: dict[str, Any], key: str, required: bool) -> dict[str, Any]:
    raw = data.get(key, {})
    if not isinstance(raw, dict) or (required and not raw):
        raise InputError(f"[{key}]", f"{'at least one ' if required else ''}[{key}.ID] table")
    return raw


def parse_config(data: dict[str, Any]) -> CapacityConfig:
    """Build a CapacityConfig from parsed TOML (exact keys; every catalog id resolved)."""
    _keys("config", data, set(TOP_LEVEL))
    head = _keys("[capacity]", data.get("capacity", {}), TABLES["capacity"])
    first = _year("[capacity].first_year", _need("[capacity]", head, "first_year"))
    last = _year("[capacity].last_year", _need("[capacity]", head, "last_year"))
    if last < first:
        raise InputError("[capacity].last_year", f"a year >= first_year ({first})", last)
    step = head.get("step", "year")
    if step not in STEPS:
        raise InputError("[capacity].step", f"one of {', '.join(STEPS)}", step)
    hardware = _hardware(data.get("hardware"))
    sites = {k: _site(k, v, hardware) for k, v in _tables(data, "sites", True).items()}
    training = tuple(_training(k, v, sites) for k, v in _tables(data, "training", False).items())
    serving = tuple(_serving(k, v) for k, v in _tables(data, "serving", False).items())
    _check_regions(serving, sites)
    if not training and not serving:
        raise InputError("[training]", "at least one [training.ID] or [serving.ID] demand")
    policy = _policy(data.get("policy"))
    if any(t.data_site for t in training) and policy.wan_bandwidth_bytes_per_s is None:
        raise InputError("[policy].wan_bandwidth_bytes_per_s", "a value (training data must move between sites)")
    return CapacityConfig(name=str(head.get("name", "capacity")), first_year=first, last_year=last, step=step,
                          policy=policy, hardware=hardware, sites=sites, training=training, serving=serving)


def load_config(path: Path) -> CapacityConfig:
    return parse_config(catalog.read_toml(Path(path), "config"))
