"""Grid profiles: the catalog shapes (grid_profiles.toml), their validation, and time-varying grid values."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from flopwatt import catalog
from flopwatt.energy.grid import (
    HOUR_S,
    YEAR_S,
    carbon_g_per_kwh_at,
    electricity_usd_per_kwh_at,
    hourly_factors,
    mean_over,
)
from flopwatt.errors import InputError
from flopwatt.specs.grid import MONTH_DAYS, GridProfile

DAY_S = 86400.0
PROFILES = catalog.grid_profiles()
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def weighted_mean(shape) -> float:
    return float((np.array(MONTH_DAYS)[:, None] * np.asarray(shape)).sum() / 8760)


def flat_shape(value: float = 1.0) -> list[list[float]]:
    return [[value] * 24 for _ in range(12)]


def profile(**changes) -> GridProfile:
    base = {"id": "de-frankfurt", "carbon_shape_by_month_hour": flat_shape(), "timezone_utc_offset_h": 0,
            "carbon_source": "test", "retrieved": "2026-12-02"}
    return GridProfile(**{**base, **changes})


def test_catalog_loads_and_every_profile_is_a_site():
    assert PROFILES, "grid_profiles.toml is empty"
    for site_id, entry in PROFILES.items():
        assert site_id in catalog.sites()
        assert entry.carbon_source.strip() and DATE.match(entry.retrieved)
        assert (entry.price_shape_by_month_hour is None) or entry.price_source.strip()


@pytest.mark.parametrize("site_id", sorted(PROFILES))
def test_shape_means_are_one(site_id):
    entry = PROFILES[site_id]
    assert weighted_mean(entry.carbon_shape_by_month_hour) == pytest.approx(1, abs=2e-3)
    if entry.price_shape_by_month_hour is not None:
        assert weighted_mean(entry.price_shape_by_month_hour) == pytest.approx(1, abs=2e-3)


def test_unknown_site_id_is_an_error(monkeypatch):
    real = catalog.read_toml

    def fake(path, what):
        data = real(path, what)
        if path == "grid_profiles.toml":
            data = {**data, "de-frankfrut": data["de-frankfurt"]}
        return data

    catalog.grid_profiles.cache_clear()
    monkeypatch.setattr(catalog, "read_toml", fake)
    try:
        with pytest.raises(InputError, match="de-frankfrut"):
            catalog.grid_profiles()
    finally:
        monkeypatch.undo()
        catalog.grid_profiles.cache_clear()


def test_flat_without_profile_or_price_shape():
    site = catalog.sites()["de-frankfurt"]
    t = np.linspace(0, 3 * YEAR_S, 1001)
    assert np.all(carbon_g_per_kwh_at(site, t) == site.carbon_g_per_kwh)
    assert np.all(electricity_usd_per_kwh_at(site, t) == site.electricity_usd_per_kwh)
    assert np.all(electricity_usd_per_kwh_at(site, t, profile()) == site.electricity_usd_per_kwh)  # no price shape
    for site_id, entry in PROFILES.items():
        if entry.price_shape_by_month_hour is None:
            other = catalog.sites()[site_id]
            assert np.all(electricity_usd_per_kwh_at(other, t, entry) == other.electricity_usd_per_kwh)
    assert np.all(carbon_g_per_kwh_at(site, t, profile()) == site.carbon_g_per_kwh)
    assert mean_over(site, 10.0, 5 * YEAR_S + 7.0, None) == pytest.approx(site.carbon_g_per_kwh, rel=1e-12)


@pytest.mark.parametrize("site_id", sorted(PROFILES))
def test_point_value_is_annual_times_shape_at_local_time(site_id):
    entry, site = PROFILES[site_id], catalog.sites()[site_id]
    shape = np.asarray(entry.carbon_shape_by_month_hour)
    month_start_day = np.concatenate(([0], np.cumsum(MONTH_DAYS)))
    for month in (0, 6, 11):
        for local_hour in (0, 12, 23):
            local_s = (month_start_day[month] + 10) * DAY_S + local_hour * HOUR_S + 600.0
            t = local_s - entry.timezone_utc_offset_h * HOUR_S
            expected = site.carbon_g_per_kwh * shape[month, local_hour]
            assert carbon_g_per_kwh_at(site, np.array([t, t + 2 * YEAR_S]), entry) == pytest.approx(expected)


@pytest.mark.parametrize("site_id", sorted(PROFILES))
def test_mean_over_whole_year_and_one_hour(site_id):
    entry, site = PROFILES[site_id], catalog.sites()[site_id]
    hourly = carbon_g_per_kwh_at(site, (np.arange(8760) + 0.5) * HOUR_S, entry)
    for start in (0.0, 1234.5, 200 * DAY_S, 3 * YEAR_S + 17.0):
        assert mean_over(site, start, start + YEAR_S, entry) == pytest.approx(hourly.mean(), rel=1e-9)
    hours = np.arange(0, 8760, 97) * HOUR_S
    assert np.allclose(mean_over(site, hours, hours + HOUR_S, entry), carbon_g_per_kwh_at(site, hours, entry))
    assert np.allclose(mean_over(site, hours + 60, hours + 60, entry), carbon_g_per_kwh_at(site, hours, entry))


def test_mean_over_wraps_the_year_end_and_spans_years():
    site = catalog.sites()["de-frankfurt"]
    entry = PROFILES["de-frankfurt"]
    factors = hourly_factors(entry)
    # 31 Dec 22:00 UTC to 1 Jan 02:00 UTC: the last two and first two hours of the year
    start, end = YEAR_S - 2 * HOUR_S, YEAR_S + 2 * HOUR_S
    expected = site.carbon_g_per_kwh * np.mean(np.concatenate((factors[-2:], factors[:2])))
    assert mean_over(site, start, end, entry) == pytest.approx(expected, rel=1e-12)
    assert mean_over(site, start - YEAR_S, end - YEAR_S, entry) == pytest.approx(expected, rel=1e-12)
    # two and a half years: two whole years plus the first half of the third
    half = 4380 * HOUR_S
    two_half = site.carbon_g_per_kwh * (2 * factors.sum() + factors[:4380].sum()) / (2 * 8760 + 4380)
    assert mean_over(site, 0.0, 2 * YEAR_S + half, entry) == pytest.approx(two_half, rel=1e-12)
    # vectorised over arrays of starts and ends, one at a time gives the same
    starts = np.array([0.0, 5e6, YEAR_S - 3600.0])
    ends = starts + np.array([3600.0, 86400.0 * 40, 7200.0])
    one_by_one = [float(mean_over(site, s, e, entry)) for s, e in zip(starts, ends, strict=True)]
    assert np.allclose(mean_over(site, starts, ends, entry), one_by_one)


def test_mean_over_rejects_reversed_interval_and_unknown_quantity():
    site = catalog.sites()["de-frankfurt"]
    with pytest.raises(InputError, match="end_s"):
        mean_over(site, 10.0, 5.0)
    with pytest.raises(InputError, match="which"):
        mean_over(site, 0.0, 5.0, which="water")


@pytest.mark.parametrize(("shape", "why"), [
    (flat_shape()[:11], "12 rows"),
    ([[1.0] * 23] + flat_shape()[1:], "24 values"),
    ([[-1.0] + [1.0] * 23] + flat_shape()[1:], "positive"),
    ([[float("nan")] + [1.0] * 23] + flat_shape()[1:], "finite"),
    (flat_shape(1.05), "mean within"),
])
def test_bad_shapes_raise_naming_the_field(shape, why):
    with pytest.raises(InputError, match=why) as err:
        profile(carbon_shape_by_month_hour=shape)
    assert err.value.field == "grid profile de-frankfurt.carbon_shape_by_month_hour"
    with pytest.raises(InputError) as err:
        profile(price_shape_by_month_hour=shape, price_source="test")
    assert err.value.field.endswith(".price_shape_by_month_hour")


def test_bad_offset_and_unsourced_price_shape():
    with pytest.raises(InputError, match="whole number"):
        profile(timezone_utc_offset_h=5.5)
    with pytest.raises(InputError) as err:
        profile(price_shape_by_month_hour=flat_shape())
    assert err.value.field.endswith(".price_source")
    with pytest.raises(InputError) as err:
        profile(price_shape_by_month_hour=flat_shape(), price_source="test")
    assert err.value.field.endswith(".price_wholesale_mean_usd_per_kwh")
    good = profile(price_shape_by_month_hour=flat_shape(), price_source="test", price_wholesale_mean_usd_per_kwh=0.1)
    assert dataclasses.replace(good, notes="x").notes == "x"


def test_germany_2023_solar_dip_and_winter_evening_peak():
    """Electricity Maps DE 2023 (direct): in summer the local midday hours are the cleanest of the day, at
    about half the annual mean, and clearly below the night; the dirtiest cells are winter evenings."""
    shape = np.asarray(PROFILES["de-frankfurt"].carbon_shape_by_month_hour)
    summer = shape[5:8]  # June..August
    assert np.all(summer.argmin(axis=1) >= 11) and np.all(summer.argmin(axis=1) <= 14)
    assert np.all(summer[:, 12:14].mean(axis=1) < 0.65)
    assert np.all(summer[:, 12:14].mean(axis=1) < 0.6 * summer[:, 0:4].mean(axis=1))
    month, hour = np.unravel_index(shape.argmax(), shape.shape)
    assert month in (0, 1, 10, 11) and 16 <= hour <= 20
    assert 2.5 < shape.max() / shape.min() < 3.5


def test_ercot_2023_evening_peak_and_clean_windy_spring():
    """Electricity Maps US-TEX-ERCO 2023 (direct), hours in CST: the dirtiest hours of the day are the early
    evening (solar gone, night wind not yet up), and the windy spring months are cleaner than the summer."""
    shape = np.asarray(PROFILES["us-texas"].carbon_shape_by_month_hour)
    by_hour = shape.mean(axis=0)
    assert 17 <= by_hour.argmax() <= 20 and by_hour.max() > 1.1
    by_month = shape.mean(axis=1)
    assert np.all(by_month[0:4] < 0.9) and np.all(by_month[5:9] > 1.05)
    assert 1.5 < shape.max() / shape.min() < 2.0


def test_tokyo_2023_single_solar_dip_deepest_in_spring_on_a_flat_thermal_plateau():
    """Electricity Maps JP-TK 2023 (direct), hours in JST: every month's cleanest hour is 11-12 h (solar noon),
    the dip is deepest in spring and shallowest in the cloudy rainy season / summer, and the night hours sit on
    a near-constant plateau (no evening peak above it)."""
    shape = np.asarray(PROFILES["jp-tokyo"].carbon_shape_by_month_hour)
    assert PROFILES["jp-tokyo"].timezone_utc_offset_h == 9
    assert np.all((shape.argmin(axis=1) >= 11) & (shape.argmin(axis=1) <= 12))
    spring, summer = shape[2:5, 11:13].mean(), shape[5:8, 11:13].mean()  # March-May vs June-August
    assert spring < 0.7 and summer > 0.75 and summer - spring > 0.1
    month, hour = np.unravel_index(shape.argmin(), shape.shape)
    assert (month, hour) == (3, 11)  # April 11:00 JST
    night = shape[:, 0:5]  # 00-04 h JST
    assert np.all((night > 1.09) & (night < 1.125))
    assert shape[:, 18:24].max() - night.mean() < 0.02
    assert 1.7 < shape.max() / shape.min() < 2.0


def test_germany_2023_day_ahead_price_evening_peak_and_solar_dip():
    """DE-LU day-ahead 2023 (rbx/powersched data/prices_2023.csv), hours in CET: every month's dearest hour is the
    evening 17-19 h; from March to September the cheapest is the solar midday 12-13 h (July 13 h, about a fifth of the
    annual mean, the year's minimum), while October-February bottom out at night; December is the cheapest month."""
    entry, site = PROFILES["de-frankfurt"], catalog.sites()["de-frankfurt"]
    shape = np.asarray(entry.price_shape_by_month_hour)
    assert "rbx/powersched" in entry.price_source and "b2b57028d87525fe2392545edad85cc280b25760" in entry.price_source
    assert np.all((shape.argmax(axis=1) >= 17) & (shape.argmax(axis=1) <= 19))
    assert np.all((shape[2:9].argmin(axis=1) >= 12) & (shape[2:9].argmin(axis=1) <= 13))  # March..September
    winter = shape[[0, 1, 9, 10, 11]]
    assert np.all((winter.argmin(axis=1) >= 2) & (winter.argmin(axis=1) <= 4))
    assert np.unravel_index(shape.argmin(), shape.shape) == (6, 13)  # July 13:00 CET
    assert 0.2 < shape.min() < 0.25 and 2.0 < shape.max() < 2.2  # September 18 h is the maximum
    summer = shape[4:8]  # May..August
    assert np.all(summer[:, 12:14].mean(axis=1) < 0.6 * summer[:, 18:21].mean(axis=1))
    by_hour = shape.mean(axis=0)
    assert by_hour.argmax() == 18 and by_hour.max() > 1.4
    by_month = shape.mean(axis=1)
    assert by_month.argmin() == 11 and by_month.argmax() == 1  # cheap windy December, dear February
    # only the wholesale part moves: tariff + wholesale mean x (shape - 1) at the local standard hour
    july_13h_cet = (sum(MONTH_DAYS[:6]) + 14) * DAY_S + (13 - entry.timezone_utc_offset_h) * HOUR_S + 60.0
    assert electricity_usd_per_kwh_at(site, np.array([july_13h_cet]), entry) == pytest.approx(
        site.electricity_usd_per_kwh + entry.price_wholesale_mean_usd_per_kwh * (shape[6, 13] - 1.0))


def test_a_price_shape_moves_only_the_wholesale_part_and_keeps_the_tariff_mean():
    site, entry = catalog.get("sites", "de-frankfurt"), PROFILES["de-frankfurt"]
    year = np.array([365 * DAY_S])
    assert mean_over(site, np.zeros(1), year, entry, "price")[0] == pytest.approx(site.electricity_usd_per_kwh,
                                                                                   rel=2e-3)
    hours = np.arange(8760) * HOUR_S + 1.0
    prices = electricity_usd_per_kwh_at(site, hours, entry)
    swing = entry.price_wholesale_mean_usd_per_kwh * (np.max(entry.price_shape_by_month_hour) -
                                                      np.min(entry.price_shape_by_month_hour))
    assert prices.max() - prices.min() == pytest.approx(swing, rel=1e-9)
    assert prices.min() > 0
