"""Sanity anchors of the capacity plan's power and growth arithmetic against published figures.

Each compares what flopwatt computes from a device count (the per-device figures the plan uses:
:func:`flopwatt.capacity.cluster.cluster_power_w`) with a published figure, within 15 %.
"""

from __future__ import annotations

import copy

import pytest

from capacity_base import BASE
from flopwatt import catalog
from flopwatt.capacity.cluster import cluster_power_w
from flopwatt.capacity.config import parse_config
from flopwatt.capacity.plan import run_plan
from flopwatt.energy import facility

TOLERANCE = 0.15
HOURS_PER_YEAR = 8760.0


def test_100k_h100_cluster_critical_it_power():
    """SemiAnalysis, '100,000 H100 Clusters: Power, Network Topology, Ethernet vs InfiniBand, Reliability,
    Failures, Checkpointing' (2024-06-17), as summarised in apetops-us.com/help/ai-306-...: 'An AI
    cluster comprising 100,000 H100 cards consumes up to 150 MW' (critical IT power: 700 W per GPU,
    ~575 W per GPU for CPU, NIC and PSU, plus ~10 % for storage, switches and optics).

    flopwatt: DGX H100 (10.2 kW per 8 GPUs, catalog) and a rail-optimised fabric's switches and links;
    storage servers are not modelled, so flopwatt sits below the published figure (-12.6 %)."""
    power = cluster_power_w(catalog.get("systems", "dgx-h100"), 100_000, "rail-optimized", pue=1.0)
    assert power["it_w"] == pytest.approx(150e6, rel=TOLERANCE)
    assert power["network_w"] > 0


def test_100k_h100_cluster_facility_energy():
    """Same source: the 100k-H100 cluster 'guzzles' about 1.59e9 kWh a year (1.59 TWh), i.e. 181.5 MW of
    facility power on average at full load. flopwatt: the IT power above x the PUE of air cooling (DGX
    H100 is an air-cooled system) at the catalog's Northern Virginia climate."""
    system = catalog.get("systems", "dgx-h100")
    pue = facility.pue(catalog.get("cooling", "air"), catalog.get("sites", "us-virginia"))
    power = cluster_power_w(system, 100_000, "rail-optimized", pue=pue)
    assert power["facility_w"] * HOURS_PER_YEAR / 1e12 == pytest.approx(1.59, rel=TOLERANCE)


def test_gb200_nvl72_hall():
    """A hall of 100 GB200 NVL72 racks at the rack power published for NVL72, 'The GB200 NVL72 consumes 120
    kilowatts' (introl.com/blog/gb200-nvl72-deployment-72-gpu-liquid-cooled, citing NVIDIA): 12 MW of IT.
    flopwatt's per-tray figure derives from component powers (Supermicro via introl: 18 compute trays of
    ~6.5 kW and 3.6 kW of switch trays, catalog systems.toml), so this checks that the components add up
    to the published rack, not an independent measurement. Racks only: no scale-out fabric."""
    power = cluster_power_w(catalog.get("systems", "gb200-nvl72"), 100 * 72, None, pue=1.0)
    assert power["it_w"] == pytest.approx(100 * 120e3, rel=TOLERANCE)


IEA_2022_TWH = 460.0
IEA_2026_ADDED_TWH = (160.0, 590.0)
IEA_2026_TWH = (620.0, 1050.0)


def test_iea_2026_data_centre_electricity_from_its_stated_inputs():
    """IEA, Electricity 2024 - Analysis and forecast to 2026 (p. 31): data centres, cryptocurrencies and AI
    'consumed about 460 TWh of electricity worldwide in 2022' and will 'range between 620-1 050 TWh in
    2026', 'an additional 160 TWh up to 590 TWh ... compared to 2022'.

    The published range follows from its base and its additions; and the plan's yearly compounding
    carries a fleet from 2022 to 2026 (four years of growth, not five) onto the same range when its
    demand grows at the rate those figures imply."""
    for added, total in zip(IEA_2026_ADDED_TWH, IEA_2026_TWH, strict=True):
        assert IEA_2022_TWH + added == pytest.approx(total)
        growth = (total / IEA_2022_TWH) ** (1 / 4) - 1
        periods = _growing_fleet(growth)
        ratio = periods[-1]["totals"]["twh_facility"] / periods[0]["totals"]["twh_facility"]
        assert [p["year"] for p in periods] == [2022, 2023, 2024, 2025, 2026]
        assert IEA_2022_TWH * ratio == pytest.approx(total, rel=0.01)


def _growing_fleet(growth: float) -> list[dict]:
    """One steadily growing service with power to spare and no refresh inside the horizon."""
    data = copy.deepcopy(BASE)
    data["capacity"] = {"name": "iea", "first_year": 2022, "last_year": 2026}
    data["policy"]["refresh_years"] = 10
    data.pop("training")
    data["serving"]["chat"].update(first_year=2022, growth_per_year=growth)
    data["hardware"]["a100"]["available_from"] = 2020
    data["hardware"].pop("h100")
    for site in data["sites"].values():
        site["mw_available"] = {"2022": 1e4}
    return run_plan(parse_config(data))["periods"]
