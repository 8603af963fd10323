"""Grid profiles: how a site's grid carbon intensity (and price) varies over the day and the year.

Vocabulary: a *shape* is a 12 x 24 table, shape[month][hour] = mean of the quantity over the hours of that
month whose local standard hour of day is ``hour``, divided by the annual mean. Months are weighted by their
hours (a 365-day year), so the weighted mean of a shape is 1. A shape scales the site's annual figure
(``Site.carbon_g_per_kwh``, ``Site.electricity_usd_per_kwh``): the annual source stays the site's, the
profile only lends the time pattern.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flopwatt.errors import InputError

MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
"""Days per month of the 365-day year the profiles use (no leap day)."""
MEAN_TOLERANCE = 0.02
"""How far the hour-weighted mean of a shape may be from 1 (rounding to 3 decimals moves it far less)."""

Shape = tuple[tuple[float, ...], ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class GridProfile:
    """Month x hour-of-day shapes of one site's grid carbon intensity and, where sourced, its price."""

    id: str
    """The site id (a key of ``catalog.sites()``)."""
    carbon_shape_by_month_hour: Shape
    """12 rows (January..December) of 24 ratios (local hours 0..23) to the annual mean intensity."""
    timezone_utc_offset_h: int
    """Local standard time minus UTC, whole hours: the hours of the shapes are in this time (no DST)."""
    carbon_source: str
    retrieved: str
    price_shape_by_month_hour: Shape | None = None
    """As the carbon shape, for the wholesale price; None = no time pattern sourced (flat price)."""
    price_source: str = ""
    price_wholesale_mean_usd_per_kwh: float | None = None
    """Annual mean of the wholesale series the price shape comes from. A site's tariff is wholesale energy
    plus fixed parts (network, levies), so only the wholesale part moves with the hour:
    price(t) = tariff + wholesale_mean x (shape(t) - 1). Required with a price shape."""
    notes: str = ""

    def __post_init__(self) -> None:
        owner = f"grid profile {self.id}"
        offset = self.timezone_utc_offset_h
        if isinstance(offset, bool) or not isinstance(offset, int) or not -12 <= offset <= 14:
            raise InputError(f"{owner}.timezone_utc_offset_h", "a whole number of hours in -12..14", offset)
        for name in ("carbon_shape_by_month_hour", "price_shape_by_month_hour"):
            shape = getattr(self, name)
            if shape is not None or name.startswith("carbon"):
                check_shape(f"{owner}.{name}", shape)
                object.__setattr__(self, name, tuple(tuple(float(x) for x in row) for row in shape))  # hashable
        if self.price_shape_by_month_hour is not None:
            if not self.price_source.strip():
                raise InputError(f"{owner}.price_source", "a source for the price shape")
            mean = self.price_wholesale_mean_usd_per_kwh
            if isinstance(mean, bool) or not isinstance(mean, (int, float)) or not mean > 0:
                raise InputError(f"{owner}.price_wholesale_mean_usd_per_kwh",
                                 "the wholesale series' annual mean in US$/kWh (> 0; required with a price shape)",
                                 mean)


def check_shape(field: str, shape: object) -> None:
    """Raise InputError unless ``shape`` is 12 rows of 24 finite positive numbers with weighted mean ~1."""
    if not isinstance(shape, (tuple, list)) or len(shape) != 12:
        raise InputError(field, "12 rows (one per month)", _size(shape))
    for m, row in enumerate(shape):
        if not isinstance(row, (tuple, list)) or len(row) != 24:
            raise InputError(field, f"24 values (one per hour) in row {m}", _size(row))
        for x in row:
            if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) or x <= 0:
                raise InputError(field, f"finite positive ratios (row {m})", x)
    mean = sum(d * sum(row) for d, row in zip(MONTH_DAYS, shape, strict=True)) / (24 * sum(MONTH_DAYS))
    if abs(mean - 1) > MEAN_TOLERANCE:
        raise InputError(field, f"an hour-weighted mean within {MEAN_TOLERANCE:.0%} of 1", round(mean, 4))


def _size(x: object) -> object:
    return len(x) if isinstance(x, (tuple, list)) else x
