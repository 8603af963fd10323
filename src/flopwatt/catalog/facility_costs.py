"""Facility capex by region and cooling type; racks above the air-cooling limit (catalog facility_costs.toml).

capex per W = region cost index (air-cooled baseline) x the cooling type's sourced capex factor; either
unknown gives None with the reason. Rack power: the published rack figure of a rack-scale system, else one
node's datasheet maximum (a lower bound: a rack holds at least one node). Wire-in: import from
``flopwatt.catalog.facility_costs`` (not re-exported by ``flopwatt.catalog``, the lead's module).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from flopwatt.catalog import check_keys, cooling, economics, read_toml, systems
from flopwatt.errors import InputError, unknown_id
from flopwatt.specs import System
from flopwatt.specs.facility import AirRackLimit, CoolingCost, RackPower, RegionCost
from flopwatt.specs.site import Site

TABLES = ("region", "cooling", "air_rack_limit", "rack")


@dataclass(frozen=True, slots=True)
class FacilityCosts:
    regions: dict[str, RegionCost]
    cooling: dict[str, CoolingCost]
    air_rack_limit: AirRackLimit
    racks: dict[str, RackPower]


def _build(cls: type, owner: str, entry: Any, **ident: str) -> Any:
    if not isinstance(entry, dict):
        raise InputError(owner, "a table")
    check_keys(owner, entry, cls)
    try:
        return cls(**ident, **entry)
    except TypeError as exc:
        raise InputError(owner, f"fields of the right types ({exc})") from exc


@functools.cache
def facility_costs() -> FacilityCosts:
    data = dict(read_toml("facility_costs.toml", "catalog facility_costs.toml"))
    unknown = sorted(set(data) - set(TABLES))
    if unknown:
        raise InputError(f"catalog facility_costs.toml [{unknown[0]}]", f"one of the tables {', '.join(TABLES)}")
    if "air_rack_limit" not in data:
        raise InputError("catalog facility_costs.toml [air_rack_limit]", "a table (required)")
    regions = {k: _build(RegionCost, f"facility region {k}", v, id=k) for k, v in data.get("region", {}).items()}
    cool = {k: _build(CoolingCost, f"facility cooling {k}", v, id=k) for k, v in data.get("cooling", {}).items()}
    racks = {k: _build(RackPower, f"facility rack {k}", v, id=k) for k, v in data.get("rack", {}).items()}
    for k in cool:
        if k not in cooling():
            raise unknown_id(f"facility cooling {k}", k, cooling())
    for k in racks:
        if k not in systems():
            raise unknown_id(f"facility rack {k}", k, systems())
    limit = _build(AirRackLimit, "facility air_rack_limit", data["air_rack_limit"])
    return FacilityCosts(regions=regions, cooling=cool, air_rack_limit=limit, racks=racks)


def capex_usd_per_w(region_id: str, cooling_id: str) -> tuple[float | None, str]:
    """(capex US$ per W of IT load, one line saying how) for a region figure and a cooling type; None = unknown."""
    costs = facility_costs()
    if region_id not in costs.regions:
        raise unknown_id("facility region", region_id, costs.regions)
    if cooling_id not in costs.cooling:
        raise unknown_id("cooling", cooling_id, costs.cooling)
    region, cool = costs.regions[region_id], costs.cooling[cooling_id]
    if cool.capex_factor is None:
        return None, f"{cooling_id} capex unknown ({cool.source})"
    value = region.usd_per_w * cool.capex_factor
    return value, (f"{region.usd_per_w:g} US$/W ({region.name}, {region.year}) x {cool.capex_factor:g} "
                   f"({cooling_id} over air) = {value:.2f} US$/W")


def rack_power_w(system_id: str) -> tuple[float | None, str]:
    """(power of one rack of this system, basis): the published rack figure, else one node's maximum
    (a lower bound), else None."""
    costs = facility_costs()
    if system_id not in systems():
        raise unknown_id("system", system_id, systems())
    if system_id in costs.racks:
        return costs.racks[system_id].rack_power_w, "published rack power"
    node = systems()[system_id].node_power_max_w
    if node is None:
        return None, "unknown (no rack figure and no node power in the catalog)"
    return node, "one node's maximum (lower bound for a rack)"


def systems_above_air_limit(*, practical: bool = False) -> dict[str, tuple[float, str]]:
    """Catalog systems whose rack power exceeds what air cooling carries (its maximum, or the practical
    figure): {system id: (rack power W, basis)}. Systems of unknown rack power are not listed."""
    limit = facility_costs().air_rack_limit
    threshold = limit.rack_power_practical_w if practical else limit.rack_power_max_w
    out = {}
    for system_id in systems():
        power, basis = rack_power_w(system_id)
        if power is not None and power > threshold:
            out[system_id] = (power, basis)
    return out


def site_capex_usd_per_w(site: Site, cooling_id: str, fallback_usd_per_w: float | None = None) -> tuple[float, str]:
    """(facility capex US$ per W of IT load at ``site`` with ``cooling_id``, the rule that gave it).

    The site's sourced region figure (sites.toml ``facility_region``) x the cooling type's capex factor;
    without a region figure, ``fallback_usd_per_w`` (default: the catalog's US 19-market average,
    economics.toml [facility_capex]) x the factor. A cooling type whose factor is unknown keeps the
    air-cooled figure, and the rule says so.
    """
    costs = facility_costs()
    if site.facility_region:
        if site.facility_region not in costs.regions:
            raise unknown_id(f"site {site.id}.facility_region", site.facility_region, costs.regions)
        region = costs.regions[site.facility_region]
        base, what = region.usd_per_w, f"{region.usd_per_w:g} US$/W ({region.name}, {region.year})"
    else:
        base = economics().facility_capex_usd_per_w if fallback_usd_per_w is None else fallback_usd_per_w
        what = (f"{base:g} US$/W (no sourced construction cost for site {site.id}'s region: the economics "
                f"figure, catalog economics.toml [facility_capex] = US 19-market average)")
    factor = costs.cooling[cooling_id].capex_factor if cooling_id in costs.cooling else None
    if factor is None:
        return base, f"facility capex {what}; {cooling_id} capex factor unknown: air-cooled figure kept"
    if cooling_id == "air":
        return base, f"facility capex {what}, air-cooled (the baseline of the cost figures)"
    return base * factor, f"facility capex {what} x {factor:g} ({cooling_id} over air) = {base * factor:.2f} US$/W"


def rule_text(site: Site, cooling_id: str) -> str:
    """The assumption line stating how the facility capex of ``site`` with ``cooling_id`` was set."""
    return site_capex_usd_per_w(site, cooling_id)[1]


def _above_air_limit(system: System, cooling_id: str) -> tuple[float, str, float] | None:
    """(rack power W, its basis, air limit W) where ``system`` is air-cooled above the limit, else None."""
    if cooling_id != "air":
        return None
    limit = facility_costs().air_rack_limit.rack_power_max_w
    power, basis = rack_power_w(system.id) if system.id in systems() else (None, "")
    if power is None or power <= limit:
        return None
    return power, basis, limit


def air_cooling_refusal(system: System, cooling_id: str) -> str | None:
    """The feasibility rule's sentence (:func:`flopwatt.perf.feasibility.cooling_refusal`): ``system`` racks
    above the sourced air limit refused for air, with the figures and their source; None where allowed."""
    above = _above_air_limit(system, cooling_id)
    if above is None:
        return None
    power, basis, limit = above
    return (f"{system.id} racks draw {power / 1e3:g} kW ({basis}), above the {limit / 1e3:g} kW air cooling "
            f"carries at most: cool them with direct-liquid or immersion (catalog facility_costs.toml "
            f"[air_rack_limit]; source: {facility_costs().air_rack_limit.source})")
