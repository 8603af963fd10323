"""Network parts: switches, NICs and link media (catalog network_parts.toml)."""

from __future__ import annotations

from dataclasses import dataclass

from flopwatt.errors import InputError
from flopwatt.specs._check import positive, positive_int

MEDIUM_KINDS = ("copper", "optics", "cpo")


@dataclass(frozen=True, kw_only=True, slots=True)
class Switch:
    id: str
    name: str
    ports: int
    port_rate_bps: float
    power_w: float | None = None
    price_usd: float | None = None
    source: str
    retrieved: str
    notes: str = ""

    def __post_init__(self) -> None:
        positive_int(f"switch {self.id}", "ports", self.ports)
        positive(f"switch {self.id}", "port_rate_bps", self.port_rate_bps)
        positive(f"switch {self.id}", "power_w", self.power_w, allow_none=True)
        positive(f"switch {self.id}", "price_usd", self.price_usd, allow_none=True)


@dataclass(frozen=True, kw_only=True, slots=True)
class Nic:
    id: str
    name: str
    rate_bps: float
    power_w: float | None = None
    price_usd: float | None = None
    source: str
    retrieved: str
    notes: str = ""

    def __post_init__(self) -> None:
        positive(f"nic {self.id}", "rate_bps", self.rate_bps)
        positive(f"nic {self.id}", "power_w", self.power_w, allow_none=True)
        positive(f"nic {self.id}", "price_usd", self.price_usd, allow_none=True)


@dataclass(frozen=True, kw_only=True, slots=True)
class Medium:
    """A link medium: copper cable, pluggable optics (one transceiver per end) or a co-packaged port."""

    id: str
    name: str
    kind: str
    reach_m: float
    power_w_per_end: float | None = None
    price_usd_per_end: float | None = None
    mtbf_h: float | None = None
    """Mean time between failures of one cable/module as its source states it (hours); None = unknown."""
    source: str
    retrieved: str
    notes: str = ""

    def __post_init__(self) -> None:
        if self.kind not in MEDIUM_KINDS:
            raise InputError(f"medium {self.id}.kind", f"one of {', '.join(MEDIUM_KINDS)}", self.kind)
        positive(f"medium {self.id}", "reach_m", self.reach_m)
        positive(f"medium {self.id}", "mtbf_h", self.mtbf_h, allow_none=True)
        for name in ("power_w_per_end", "price_usd_per_end"):  # a passive cable may draw 0 W
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and 0 <= value < float("inf")):
                raise InputError(f"medium {self.id}.{name}", "a finite number >= 0", value)
        positive(f"medium {self.id}", "reach_m", self.reach_m)
