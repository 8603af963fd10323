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

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flopwatt import catalog
from flopwatt.api.resolve import catalog_model
from flopwatt.capacity.fields import (
    ids,
    keys,
    need,
    number,
    optional,
    precision_of,
    round_trips,
    trajectory,
    year,
)
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


def _policy(raw: Any) -> Policy:
    where = "[policy]"
    table = keys(where, raw, TABLES["policy"])
    return Policy(
        refresh_years=number(f"{where}.refresh_years", need(where, table, "refresh_years"), integer=True),
        utilisation_target=number(f"{where}.utilisation_target", need(where, table, "utilisation_target"),
                                  maximum=1.0),
        redundancy=number(f"{where}.redundancy", need(where, table, "redundancy"), strict=False),
        budget_usd_per_year=optional(where, table, "budget_usd_per_year", strict=False),
        training_estimate_devices=number(f"{where}.training_estimate_devices",
                                         need(where, table, "training_estimate_devices"), integer=True),
        serving_estimate_devices=number(f"{where}.serving_estimate_devices",
                                        need(where, table, "serving_estimate_devices"), integer=True),
        wan_bandwidth_bytes_per_s=optional(where, table, "wan_bandwidth_bytes_per_s"),
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
        keys(where, table, TABLES["hardware"])
        system = catalog.system_for(need(where, table, "accelerator"))
        start = year(f"{where}.available_from", need(where, table, "available_from"))
        until = year(f"{where}.available_until", table["available_until"]) if "available_until" in table else None
        if until is not None and until < start:
            raise InputError(f"{where}.available_until", f"a year >= available_from ({start})", until)
        out[hid] = Hardware(id=hid, system=system, available_from=start, available_until=until,
                            supply_per_year=optional(where, table, "supply_per_year", strict=False),
                            price_factor=float(number(f"{where}.price_factor", table.get("price_factor", 1.0))),
                            tiers=_tiers(f"{where}.tiers", need(where, table, "tiers")))
    return out


def _site(sid: str, table: Any, hardware: dict[str, Hardware]) -> PlanSite:
    where = f"[sites.{sid}]"
    keys(where, table, TABLES["sites"])
    site = catalog.get("sites", need(where, table, "site"))
    tier = need(where, table, "tier")
    if tier not in TIERS:
        raise InputError(f"{where}.tier", f"one of {', '.join(TIERS)}", tier)
    rtt = {**wan.site_rtt_s(site), **round_trips(f"{where}.rtt_s", table.get("rtt_s", {}))}
    allowed = ids(f"{where}.hardware", table["hardware"], hardware) if "hardware" in table else tuple(
        h for h, hw in hardware.items() if tier in hw.tiers)
    for hid in allowed:
        if tier not in hardware[hid].tiers:
            raise InputError(f"{where}.hardware", f"hardware of the {tier} tier ({hid} is {hardware[hid].tiers})", hid)
    return PlanSite(
        id=sid, site=site, tier=tier, cooling=catalog.get("cooling", need(where, table, "cooling")),
        pue_override=optional(where, table, "pue", minimum=1.0, strict=False),
        mw_available=trajectory(f"{where}.mw_available", need(where, table, "mw_available"), strict=False),
        carbon_g_per_kwh=trajectory(f"{where}.carbon_g_per_kwh", table.get(
            "carbon_g_per_kwh", {str(site.carbon_year): site.carbon_g_per_kwh}), strict=False),
        electricity_usd_per_kwh=trajectory(f"{where}.electricity_usd_per_kwh", table.get(
            "electricity_usd_per_kwh", {str(site.electricity_year): site.electricity_usd_per_kwh}), strict=False),
        rtt_s=rtt, hardware=allowed)


def _training(tid: str, table: Any, sites: dict[str, PlanSite]) -> TrainingDemand:
    where = f"[training.{tid}]"
    keys(where, table, TABLES["training"])
    model = catalog_model(need(where, table, "model"), f"{where}.model")
    seq = table.get("seq_len", model.seq_len)
    if seq is None:
        raise InputError(f"{where}.seq_len", f"a value ({model.id} has no published context length)")
    data_site = table.get("data_site")
    if data_site is not None and data_site not in sites:
        raise unknown_id(f"{where}.data_site", str(data_site), sites)
    if (data_site is None) != ("data_bytes" not in table):
        raise InputError(f"{where}.data_bytes", "data_site and data_bytes together (or neither)")
    return TrainingDemand(
        id=tid, model=model, tokens=float(number(f"{where}.tokens", need(where, table, "tokens"))),
        year=year(f"{where}.year", need(where, table, "year")),
        deadline_s=float(number(f"{where}.deadline_days", need(where, table, "deadline_days"), maximum=366)) * 86400,
        global_batch=number(f"{where}.global_batch", need(where, table, "global_batch"), integer=True),
        seq_len=number(f"{where}.seq_len", seq, integer=True),
        stack=catalog.get("stacks", table.get("stack", "megatron-core")),
        precision=precision_of(f"{where}.precision", table.get("precision"), _training_precisions()),
        data_site=data_site, data_bytes=optional(where, table, "data_bytes"),
        sites=ids(f"{where}.sites", table["sites"], sites) if "sites" in table else tuple(
            k for k, v in sites.items() if v.tier == "cloud"))


def _serving(sid: str, table: Any) -> ServingDemand:
    where = f"[serving.{sid}]"
    keys(where, table, TABLES["serving"])
    if ("requests_per_s" in table) == ("output_tokens_per_day" in table):
        raise InputError(f"{where}.requests_per_s", "exactly one of requests_per_s or output_tokens_per_day")
    output_len = float(number(f"{where}.output_len", need(where, table, "output_len"), minimum=1, strict=False))
    rate = (float(number(f"{where}.requests_per_s", table["requests_per_s"])) * output_len
            if "requests_per_s" in table else float(number(f"{where}.output_tokens_per_day",
                                                           table["output_tokens_per_day"])) / 86400.0)
    first = year(f"{where}.first_year", need(where, table, "first_year"))
    last = year(f"{where}.last_year", table["last_year"]) if "last_year" in table else None
    if last is not None and last < first:
        raise InputError(f"{where}.last_year", f"a year >= first_year ({first})", last)
    return ServingDemand(
        id=sid, model=catalog_model(need(where, table, "model"), f"{where}.model"),
        region=str(need(where, table, "region")),
        first_year=first, last_year=last, output_tokens_per_s=rate,
        input_len=float(number(f"{where}.input_len", need(where, table, "input_len"), minimum=1, strict=False)),
        output_len=output_len, ttft_slo_s=float(number(f"{where}.ttft_slo_s", need(where, table, "ttft_slo_s"))),
        tpot_slo_s=float(number(f"{where}.tpot_slo_s", need(where, table, "tpot_slo_s"))),
        growth_per_year=float(number(f"{where}.growth_per_year", need(where, table, "growth_per_year"),
                                     minimum=-1.0)),
        precision=precision_of(f"{where}.precision", table.get("precision", "fp8"), _serving_precisions()),
        tiers=_tiers(f"{where}.tiers", table["tiers"]) if "tiers" in table else TIERS)


def _training_precisions() -> tuple[str, ...]:
    from flopwatt.specs.hardware import PRECISIONS

    return tuple(PRECISIONS)


def _serving_precisions() -> tuple[str, ...]:
    from flopwatt.perf.serving import BYTES

    return tuple(BYTES)


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
    keys("config", data, set(TOP_LEVEL))
    head = keys("[capacity]", data.get("capacity", {}), TABLES["capacity"])
    first = year("[capacity].first_year", need("[capacity]", head, "first_year"))
    last = year("[capacity].last_year", need("[capacity]", head, "last_year"))
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
