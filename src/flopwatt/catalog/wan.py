"""Published WAN round-trip times between places (catalog wan_rtt.toml) and a site's RTT to user regions.

A row gives one measured (or operator-stated) RTT between places ``a`` and ``b``; the table is read as
symmetric. ``[sites]`` maps catalog site ids onto places, so a site's RTT to a user region is the row
between its place and that region. The catalog site's own ``wan_rtt_s`` (Azure backbone P95) comes
first; a user's figures (capacity and fleet configs) go on top of both at their edge.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from flopwatt.catalog import check_keys, read_toml
from flopwatt.errors import InputError
from flopwatt.specs._check import positive
from flopwatt.specs.site import Site


@dataclass(frozen=True, kw_only=True, slots=True)
class RttRow:
    a: str
    b: str
    rtt_s: float
    source: str
    retrieved: str
    notes: str = ""

    def __post_init__(self) -> None:
        positive(f"wan {self.a}-{self.b}", "rtt_s", self.rtt_s)
        if self.a == self.b:
            raise InputError(f"wan {self.a}-{self.b}", "two different places")


@dataclass(frozen=True, slots=True)
class WanTable:
    rows: tuple[RttRow, ...]
    site_places: dict[str, str]

    def rtt_s(self, a: str, b: str) -> float | None:
        """The published RTT between places ``a`` and ``b`` (either order), or None when none is."""
        for row in self.rows:
            if {row.a, row.b} == {a, b}:
                return row.rtt_s
        return None

    def from_place(self, place: str) -> dict[str, float]:
        """Every place with a published RTT to ``place``."""
        out = {}
        for row in self.rows:
            if place in (row.a, row.b):
                out[row.b if row.a == place else row.a] = row.rtt_s
        return out


@functools.cache
def table() -> WanTable:
    data = read_toml("wan_rtt.toml", "catalog wan_rtt.toml")
    unknown = sorted(set(data) - {"sites", "rtt"})
    if unknown:
        raise InputError(f"catalog wan_rtt.toml [{unknown[0]}]", "[sites] and [[rtt]] tables only")
    rows = []
    for i, entry in enumerate(data.get("rtt", [])):
        check_keys(f"catalog wan_rtt.toml [[rtt]] #{i + 1}", entry, RttRow)
        rows.append(RttRow(**entry))
    pairs = [frozenset((r.a, r.b)) for r in rows]
    if len(set(pairs)) != len(pairs):
        raise InputError("catalog wan_rtt.toml [[rtt]]", "one row per pair of places")
    places = data.get("sites", {})
    if not all(isinstance(v, str) for v in places.values()):
        raise InputError("catalog wan_rtt.toml [sites]", "site id = place name")
    return WanTable(rows=tuple(rows), site_places=dict(places))


def site_rtt_s(site: Site) -> dict[str, float]:
    """RTT from ``site`` to each region with a published figure: the site's own table, then the WAN rows
    of its place (the WAN rows win where both give one: they are the place's own measurement)."""
    wan = table()
    place = wan.site_places.get(site.id)
    return {**site.wan_rtt_s, **(wan.from_place(place) if place else {})}
