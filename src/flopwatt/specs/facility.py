"""Facility construction cost by region and cooling type, and rack power against the air-cooling limit.

Capex per W of critical (IT) load = a region's sourced cost index x a cooling type's sourced factor over
the air-cooled baseline (catalog facility_costs.toml). ``None`` = unknown (no source found).
"""

from __future__ import annotations

from dataclasses import dataclass

from flopwatt.errors import InputError
from flopwatt.specs._check import positive


@dataclass(frozen=True, kw_only=True, slots=True)
class RegionCost:
    """Construction cost of a data centre per W of critical load in one market (air-cooled baseline)."""

    id: str
    name: str
    region: str
    """Market id (us, eu, cn, ...; as in markets.toml) the figure stands for."""
    usd_per_w: float
    usd_per_w_low: float | None = None
    usd_per_w_high: float | None = None
    year: int
    source: str
    retrieved: str
    notes: str = ""

    def __post_init__(self) -> None:
        owner = f"facility region {self.id}"
        for name in ("usd_per_w", "usd_per_w_low", "usd_per_w_high"):
            positive(owner, name, getattr(self, name), allow_none=name != "usd_per_w")
        low = self.usd_per_w if self.usd_per_w_low is None else self.usd_per_w_low
        high = self.usd_per_w if self.usd_per_w_high is None else self.usd_per_w_high
        if not low <= self.usd_per_w <= high:
            raise InputError(f"{owner}.usd_per_w", "usd_per_w_low <= usd_per_w <= usd_per_w_high",
                             (low, self.usd_per_w, high))


@dataclass(frozen=True, kw_only=True, slots=True)
class CoolingCost:
    """Capex of a cooling type relative to an air-cooled facility of the same IT capacity (1 = same)."""

    id: str
    """A cooling id of cooling.toml (air, rear-door, direct-liquid, immersion)."""
    capex_factor: float | None = None
    capex_factor_low: float | None = None
    capex_factor_high: float | None = None
    source: str
    retrieved: str
    notes: str = ""

    def __post_init__(self) -> None:
        owner = f"facility cooling {self.id}"
        for name in ("capex_factor", "capex_factor_low", "capex_factor_high"):
            positive(owner, name, getattr(self, name), allow_none=True)
        if self.capex_factor is None and (self.capex_factor_low is not None or self.capex_factor_high is not None):
            raise InputError(f"{owner}.capex_factor", "a value when a low/high bound is given")


@dataclass(frozen=True, kw_only=True, slots=True)
class AirRackLimit:
    """How much power one air-cooled rack can carry."""

    rack_power_max_w: float
    """Upper bound with ideal containment."""
    rack_power_practical_w: float
    """What air cooling supports in ordinary practice."""
    source: str
    retrieved: str
    notes: str = ""

    def __post_init__(self) -> None:
        positive("facility air_rack_limit", "rack_power_max_w", self.rack_power_max_w)
        positive("facility air_rack_limit", "rack_power_practical_w", self.rack_power_practical_w)
        if self.rack_power_practical_w > self.rack_power_max_w:
            raise InputError("facility air_rack_limit.rack_power_practical_w", "<= rack_power_max_w",
                             self.rack_power_practical_w)


@dataclass(frozen=True, kw_only=True, slots=True)
class RackPower:
    """The power one rack of a catalog system draws (rack-scale systems, where a rack figure is published)."""

    id: str
    """A system id of systems.toml."""
    rack_power_w: float
    source: str
    retrieved: str
    notes: str = ""

    def __post_init__(self) -> None:
        positive(f"facility rack {self.id}", "rack_power_w", self.rack_power_w)
