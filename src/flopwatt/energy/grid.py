"""Time-varying grid carbon intensity and electricity price at a site (pure, vectorised, no I/O).

A carbon intensity at time t is the site's annual figure (``Site.carbon_g_per_kwh``) times the profile's
shape at [month, local hour] of t. A price is the site's annual tariff (``Site.electricity_usd_per_kwh``)
plus the wholesale deviation ``wholesale_mean x (shape - 1)``: only the energy part of a tariff moves with
the hour, network charges and levies do not, so the yearly mean stays the tariff (:mod:`flopwatt.specs.grid`
fixes the terms); without a profile, or without a price shape, the annual figure is returned flat. Time
``t_s`` is seconds since 1 January 00:00 UTC and wraps every 365 days; local time is
UTC + ``timezone_utc_offset_h`` (no DST).
The values are constant within each UTC hour, so interval means are exact sums over hourly steps.

Data behind the shipped shapes (catalog grid_profiles.toml, reduced by tools/grid_profiles.py): Electricity
Maps' hourly 2023 direct carbon intensity (ODbL) of zone DE for de-frankfurt and zone US-TEX-ERCO for
us-texas, as copied in GlasgowC3lab/evaluate-carbon-aware-workflows @ 465564e data/intensity/avg-de-2023.csv
and avg-tx-2023.csv (jp-tokyo: avg-tyo-2023.csv); the de-frankfurt price shape is the DE-LU day-ahead
auction of 2023 (ENTSO-E / EPEX SPOT, as copied in rbx/powersched @ b2b5702 data/prices_2023.csv).
"""

from __future__ import annotations

import functools

import numpy as np

from flopwatt.errors import InputError
from flopwatt.specs.grid import MONTH_DAYS, GridProfile
from flopwatt.specs.site import Site

HOUR_S = 3600.0
YEAR_HOURS = 24 * sum(MONTH_DAYS)
YEAR_S = YEAR_HOURS * HOUR_S
_MONTH_OF_HOUR = np.repeat(np.arange(12), np.array(MONTH_DAYS) * 24)  # month of each hour of the year
WHICH = ("carbon", "price")


def hourly_factors(profile: GridProfile | None, which: str = "carbon") -> np.ndarray:
    """The shape's factor for each of the 8760 UTC hours of the year (ones where there is no shape)."""
    if which not in WHICH:
        raise InputError("which", "carbon or price", which)
    shape = None
    if profile is not None:
        shape = profile.carbon_shape_by_month_hour if which == "carbon" else profile.price_shape_by_month_hour
    if shape is None:
        return np.ones(YEAR_HOURS)
    local = (np.arange(YEAR_HOURS) + profile.timezone_utc_offset_h) % YEAR_HOURS
    return np.asarray(shape, dtype=float)[_MONTH_OF_HOUR[local], local % 24]


@functools.lru_cache(maxsize=64)
def _tables(profile: GridProfile | None, which: str) -> tuple[np.ndarray, np.ndarray]:
    """(hourly factors, their integral from 1 Jan 00:00 to the start of each hour in factor x seconds),
    computed once per profile: a fleet simulation asks for interval means hundreds of thousands of times."""
    factors = hourly_factors(profile, which)
    cumulative = np.concatenate(([0.0], np.cumsum(factors) * HOUR_S))
    factors.flags.writeable = cumulative.flags.writeable = False
    return factors, cumulative


def _annual(site: Site, which: str) -> float:
    return float(site.carbon_g_per_kwh if which == "carbon" else site.electricity_usd_per_kwh)


def _scale(site: Site, profile: GridProfile | None, which: str, factor: np.ndarray) -> np.ndarray:
    """The figure for a shape factor: annual x factor (carbon), tariff + wholesale x (factor - 1) (price)."""
    if which == "price" and profile is not None and profile.price_shape_by_month_hour is not None:
        return _annual(site, which) + profile.price_wholesale_mean_usd_per_kwh * (factor - 1.0)
    return _annual(site, which) * factor


def value_at(site: Site, t_s: np.ndarray, profile: GridProfile | None, which: str) -> np.ndarray:
    """The site's ``which`` figure at times ``t_s`` (s since 1 Jan 00:00 UTC; any shape, wraps yearly)."""
    factors = _tables(profile, which)[0]
    hour = np.floor(np.asarray(t_s, dtype=float) / HOUR_S).astype(np.int64) % YEAR_HOURS
    return _scale(site, profile, which, factors[hour])


def carbon_g_per_kwh_at(site: Site, t_s: np.ndarray, profile: GridProfile | None = None) -> np.ndarray:
    """Grid carbon intensity (gCO2e/kWh, the site's basis) at UTC times ``t_s``."""
    return value_at(site, t_s, profile, "carbon")


def electricity_usd_per_kwh_at(site: Site, t_s: np.ndarray, profile: GridProfile | None = None) -> np.ndarray:
    """Electricity price (US$/kWh) at UTC times ``t_s``; flat where the profile has no price shape."""
    return value_at(site, t_s, profile, "price")


def _integral_s(cumulative: np.ndarray, factors: np.ndarray, t_s: np.ndarray) -> np.ndarray:
    """Integral of the hourly factor from 0 to ``t_s`` (factor x seconds), across any number of years."""
    years = np.floor(t_s / YEAR_S)
    rest = t_s - years * YEAR_S
    hour = np.clip(np.floor(rest / HOUR_S).astype(np.int64), 0, YEAR_HOURS - 1)
    return years * cumulative[-1] + cumulative[hour] + factors[hour] * (rest - hour * HOUR_S)


def mean_over(site: Site, start_s: np.ndarray, end_s: np.ndarray, profile: GridProfile | None = None,
              which: str = "carbon") -> np.ndarray:
    """Time-average of the site's ``which`` ("carbon" or "price") figure over [start_s, end_s] (broadcast).

    Exact for the hourly step function: a cumulative table over the year's 8760 hours gives the integral to
    any time, whole years included, so intervals may cross the year boundary or span many years. An empty
    interval (end == start) gives the value at that instant.
    """
    start, end = np.broadcast_arrays(np.asarray(start_s, dtype=float), np.asarray(end_s, dtype=float))
    if np.any(end < start):
        raise InputError("end_s", "an interval end at or after its start", float(np.min(end - start)))
    factors, cumulative = _tables(profile, which)
    span = end - start
    safe = np.where(span > 0, span, 1.0)
    mean = (_integral_s(cumulative, factors, end) - _integral_s(cumulative, factors, start)) / safe
    point = factors[np.floor(start / HOUR_S).astype(np.int64) % YEAR_HOURS]
    return _scale(site, profile, which, np.where(span > 0, mean, point))
