"""Sites (where a run happens) and cooling types (how its heat leaves)."""

from __future__ import annotations

from dataclasses import dataclass, field

from flopwatt.errors import InputError
from flopwatt.specs._check import positive


@dataclass(frozen=True, kw_only=True, slots=True)
class Site:
    """A data-centre location: electricity price, grid carbon intensity, climate, WAN latency."""

    id: str
    name: str
    region: str
    electricity_usd_per_kwh: float
    electricity_year: int
    electricity_source: str
    carbon_g_per_kwh: float
    """Location-based grid intensity (gCO2e per kWh consumed)."""
    carbon_year: int
    carbon_source: str
    mean_temperature_c: float
    """Annual mean outdoor temperature; drives the PUE within a cooling type's sourced range."""
    climate: str
    climate_source: str
    wan_rtt_s: dict[str, float] = field(default_factory=dict)
    """Round-trip time to user regions (s); regions not listed are unknown."""
    latency_source: str = ""
    facility_region: str = ""
    """Id of the construction-cost figure (facility_costs.toml [region.*]) that stands for this site; empty =
    none sourced (the economics.toml figure applies)."""
    facility_region_source: str = ""
    source: str = ""
    retrieved: str
    notes: str = ""

    def __post_init__(self) -> None:
        owner = f"site {self.id}"
        if not (isinstance(self.electricity_usd_per_kwh, (int, float)) and self.electricity_usd_per_kwh >= 0):
            raise InputError(f"{owner}.electricity_usd_per_kwh", "a price >= 0", self.electricity_usd_per_kwh)
        if not (isinstance(self.carbon_g_per_kwh, (int, float)) and self.carbon_g_per_kwh >= 0):
            raise InputError(f"{owner}.carbon_g_per_kwh", "an intensity >= 0", self.carbon_g_per_kwh)
        if not -60 <= self.mean_temperature_c <= 60:
            raise InputError(f"{owner}.mean_temperature_c", "a temperature in degrees C", self.mean_temperature_c)
        for region, rtt in self.wan_rtt_s.items():
            positive(owner, f"wan_rtt_s.{region}", rtt)


@dataclass(frozen=True, kw_only=True, slots=True)
class Cooling:
    """A cooling type with the PUE range its sources give and the rack power it supports."""

    id: str
    name: str
    pue_min: float
    """PUE in a cold climate (best published for this cooling type)."""
    pue_max: float
    """PUE in a hot climate (worst typical published for this cooling type)."""
    rack_power_max_w: float
    source: str
    retrieved: str
    notes: str = ""

    def __post_init__(self) -> None:
        owner = f"cooling {self.id}"
        if not 1.0 <= self.pue_min <= self.pue_max:
            raise InputError(f"{owner}.pue_min", "1 <= pue_min <= pue_max", (self.pue_min, self.pue_max))
        positive(owner, "rack_power_max_w", self.rack_power_max_w)
