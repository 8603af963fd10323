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

from flopwatt.catalog import check_keys, cooling, read_toml, systems
from flopwatt.errors import InputError, unknown_id
from flopwatt.specs.facility import AirRackLimit, CoolingCost, RackPower, RegionCost

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
