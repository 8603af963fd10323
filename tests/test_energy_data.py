"""Sanity checks on the sourced power, price, cooling and economics data in the catalog."""

from __future__ import annotations

import tomllib
from importlib import resources

import pytest

from flopwatt import catalog

RETRIEVED = "2026-11-22"
PASSES = (RETRIEVED, "2026-12-06")
"""Retrieval dates of the energy/price passes (2026-12-06: issue 18 catalog additions)."""
UPTIME_2023_AVERAGE_PUE = 1.58
COOLING_TYPES = ("air", "rear-door", "direct-liquid", "immersion")
LIQUID_TYPES = ("direct-liquid", "immersion")
UNPUBLISHED_POWER = ("tpu-v5p", "cerebras-wse-3", "rubin", "ascend-910b", "mtt-s4000")
"""No board power at all: Google gives none per TPU chip and no analyst ratio reaches the v5p; Cerebras gives none
(third-party only, and the WSE-3 has no dense peak anyway); Rubin is announced without one; Huawei publishes none
for the 910B; the S4000's 450 W is a reseller figure only. TPU v5e/v6e and the Ascend 910C carry estimates derived
by a stated rule (board_power_rule), the Groq LPU a press estimate (issue 18)."""


def _text(name: str) -> str:
    return resources.files("flopwatt.catalog").joinpath(name).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def cooling() -> dict:
    return tomllib.loads(_text("cooling.toml"))


@pytest.fixture(scope="module")
def economics() -> dict:
    return tomllib.loads(_text("economics.toml"))


# --- cooling.toml -----------------------------------------------------------------------------------------------

def test_cooling_types_present(cooling):
    assert set(COOLING_TYPES) <= set(cooling)


@pytest.mark.parametrize("kind", COOLING_TYPES)
def test_cooling_pue_range_and_density(cooling, kind):
    entry = cooling[kind]
    assert 1.0 <= entry["pue_min"] <= entry["pue_max"]
    assert entry["rack_power_max_w"] > 0
    assert entry["source"].strip()
    assert entry["retrieved"] == RETRIEVED


def test_air_range_covers_uptime_industry_average(cooling):
    air = cooling["air"]
    assert air["pue_min"] <= UPTIME_2023_AVERAGE_PUE <= air["pue_max"]


@pytest.mark.parametrize("kind", LIQUID_TYPES)
def test_liquid_beats_air(cooling, kind):
    liquid, air = cooling[kind], cooling["air"]
    assert liquid["pue_max"] < air["pue_min"] or liquid["pue_min"] < air["pue_min"]


def test_liquid_supports_denser_racks_than_air(cooling):
    assert cooling["direct-liquid"]["rack_power_max_w"] > cooling["air"]["rack_power_max_w"]


def test_cooling_catalog_loads():
    loaded = catalog.cooling()
    assert set(COOLING_TYPES) <= set(loaded)


# --- economics.toml ---------------------------------------------------------------------------------------------

ECONOMICS_KEYS = {
    "facility_capex": ("usd_per_w", 1.0, 50.0),
    "it_depreciation": ("years", 1.0, 10.0),
    "facility_depreciation": ("years", 5.0, 60.0),
    "maintenance": ("fraction_of_capex_per_year", 0.0, 1.0),
}


@pytest.mark.parametrize("table", sorted(ECONOMICS_KEYS))
def test_economics_table(economics, table):
    key, low, high = ECONOMICS_KEYS[table]
    entry = economics[table]
    value = entry[key]
    assert isinstance(value, (int, float)) and not isinstance(value, bool)
    assert low < value < high
    assert isinstance(entry["year"], int) and 2000 <= entry["year"] <= 2026
    assert entry["source"].strip()
    assert entry["retrieved"] == RETRIEVED


def test_economics_catalog_loads():
    econ = catalog.economics()
    assert econ.facility_capex_usd_per_w > 0
    assert econ.it_depreciation_years < econ.facility_depreciation_years


@pytest.mark.parametrize("name", ["cooling.toml", "economics.toml"])
def test_no_placeholder_left(name):
    assert "PLACEHOLDER" not in _text(name)


# --- accelerators.toml / systems.toml ---------------------------------------------------------------------------

def test_board_power_present_where_published():
    for acc in catalog.accelerators().values():
        if acc.id in UNPUBLISHED_POWER:
            assert acc.board_power_w is None, acc.id
        else:
            assert acc.board_power_w is not None, acc.id


def test_idle_below_board_power():
    checked = 0
    for acc in catalog.accelerators().values():
        if acc.idle_power_w is not None and acc.board_power_w is not None:
            assert 0 < acc.idle_power_w < acc.board_power_w, acc.id
            checked += 1
    assert checked >= 4


def test_node_power_exceeds_its_devices():
    checked = 0
    for system in catalog.systems().values():
        board = system.accelerator.board_power_w
        if system.node_power_max_w is not None and board is not None:
            if system.accelerator.board_power_rule:  # an all-in system power shared by rule: hosts inside
                assert system.node_power_max_w >= system.devices_per_node * board, system.id
            else:
                assert system.node_power_max_w > system.devices_per_node * board, system.id
            checked += 1
    assert checked >= 5


def test_node_price_exceeds_its_devices():
    for system in catalog.systems().values():
        price = system.accelerator.price_usd
        if system.node_price_usd is not None and price is not None:
            assert system.node_price_usd > system.devices_per_node * price, system.id


def test_prices_are_plausible():
    for acc in catalog.accelerators().values():
        if acc.price_usd is not None:
            assert 1e3 < acc.price_usd < 1e5, acc.id
    for system in catalog.systems().values():
        if system.node_price_usd is not None:
            assert 1e4 < system.node_price_usd < 1e7, system.id


def test_sourced_entries_are_dated():
    for acc in catalog.accelerators().values():
        if acc.idle_power_w is not None or acc.price_usd is not None:
            assert acc.retrieved in PASSES, acc.id
    for system in catalog.systems().values():
        if system.node_power_max_w is not None or system.node_price_usd is not None:
            assert system.retrieved in PASSES, system.id
