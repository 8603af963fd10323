"""Data checks on the shipped sites catalog (src/flopwatt/catalog/sites.toml).

These test the sourced figures, not the code: every entry builds a ``Site``, prices and grid
intensities are in plausible ranges, every figure carries a source, and the catalog spans the
regions the planner compares (including China's western "East Data, West Computing" hubs).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

import flopwatt
from flopwatt.specs.site import Site

SITES_TOML = Path(flopwatt.__file__).parent / "catalog" / "sites.toml"
REGIONS = {"north-america", "europe", "china", "asia-pacific", "russia"}
CHINA_WEST = {"cn-guizhou", "cn-inner-mongolia", "cn-gansu", "cn-ningxia"}
USER_REGIONS = {"us-east", "us-west", "europe-west", "china-east", "asia-southeast", "japan"}
RETRIEVED = {"2026-11-22", "2026-12-06"}  # first catalog pass; Russian sites (capacity, issue 19)


def _raw() -> dict:
    with SITES_TOML.open("rb") as fh:
        return tomllib.load(fh)


RAW = _raw()


def _build(key: str, entry: dict) -> Site:
    entry = dict(entry)
    if "wan_rtt_s" in entry:
        entry["wan_rtt_s"] = dict(entry["wan_rtt_s"])
    return Site(id=key, **entry)


SITES = {key: _build(key, entry) for key, entry in RAW.items()}


def test_enough_sites_spanning_all_regions():
    assert len(SITES) >= 15
    regions = {s.region for s in SITES.values()}
    assert regions == REGIONS, regions


def test_china_west_hubs_present():
    assert len(CHINA_WEST & set(SITES)) >= 3
    for key in CHINA_WEST & set(SITES):
        assert SITES[key].region == "china"


def test_no_placeholder_left():
    assert "PLACEHOLDER" not in SITES_TOML.read_text(encoding="utf-8").upper()


@pytest.mark.parametrize("key", sorted(RAW))
def test_id_form(key):
    assert re.fullmatch(r"[a-z]{2}-[a-z]+(-[a-z]+)*", key), key


@pytest.mark.parametrize("key", sorted(RAW))
def test_price_in_range(key):
    assert 0.01 <= SITES[key].electricity_usd_per_kwh <= 0.50


@pytest.mark.parametrize("key", sorted(RAW))
def test_carbon_in_range(key):
    assert 0 <= SITES[key].carbon_g_per_kwh <= 1000


@pytest.mark.parametrize("key", sorted(RAW))
def test_every_figure_sourced_and_dated(key):
    s = SITES[key]
    for field in ("name", "electricity_source", "carbon_source", "climate", "climate_source"):
        assert getattr(s, field).strip(), f"{key}.{field} is empty"
        assert "PLACEHOLDER" not in getattr(s, field).upper()
    assert 2010 <= s.electricity_year <= 2026
    assert 2010 <= s.carbon_year <= 2026
    assert s.retrieved in RETRIEVED
    assert -60 <= s.mean_temperature_c <= 60


@pytest.mark.parametrize("key", sorted(RAW))
def test_wan_rtt_sourced_and_plausible(key):
    s = SITES[key]
    if not s.wan_rtt_s:
        # a site without RTTs must say why
        assert "wan_rtt_s" in s.notes, f"{key}: no RTTs and no note saying why"
        return
    assert s.latency_source.strip(), f"{key}: RTTs without a latency_source"
    assert set(s.wan_rtt_s) <= USER_REGIONS, set(s.wan_rtt_s) - USER_REGIONS
    for region, rtt in s.wan_rtt_s.items():
        assert 0 < rtt < 0.5, (key, region, rtt)


def test_own_region_rtt_where_given():
    own = {"north-america": ("us-east", "us-west"), "europe": ("europe-west",),
           "asia-pacific": ("asia-southeast", "japan")}
    for key, s in SITES.items():
        if s.wan_rtt_s and s.region in own:
            assert set(own[s.region]) & set(s.wan_rtt_s), key


def test_proxies_are_labelled_in_sources():
    # price/carbon figures taken from another place must say so; spot-check the known proxies
    assert "proxy" in SITES["no-oslo"].electricity_source
    for key in ("cn-beijing", "cn-shanghai", "cn-guangdong", "cn-gansu", "cn-ningxia", "cn-guizhou"):
        assert "proxy" in SITES[key].carbon_source, key
