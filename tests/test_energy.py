"""Energy, carbon and money invariants: breakdowns sum, PUE within range, cleaner grid never worse."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flopwatt import catalog
from flopwatt.energy import carbon, facility
from flopwatt.footprint import default_setting, run_footprint
from flopwatt.perf.plans import Plans
from flopwatt.perf.training import evaluate_training
from flopwatt.specs import TrainingWorkload
from flopwatt.specs.site import Cooling


@pytest.fixture(scope="module")
def run(gpt3, dgx_a100):
    workload = TrainingWorkload(model=gpt3, seq_len=2048, tokens=300e9)
    stack = catalog.get("stacks", "megatron-2021")
    plans = Plans.build(tp=8, pp=12, dp=[4, 8, 16], micro_batch=1, global_batch=1536, recompute="full")
    results = [evaluate_training(workload, dgx_a100, plans.take(np.array([i])), stack, 96 * d)
               for i, d in enumerate((4, 8, 16))]
    return workload, dgx_a100, results


def test_facility_energy_is_it_plus_overhead(run):
    workload, system, results = run
    fp = run_footprint(results[0], workload, system, 384, default_setting())
    np.testing.assert_allclose(fp["energy/it_j"] + fp["energy/cooling_and_overhead_j"], fp["energy/facility_j"])
    np.testing.assert_allclose(fp["power/devices_w"] + fp["power/hosts_w"] + fp["power/network_w"], fp["power/it_w"])
    assert np.all(fp["power/it_w"] <= fp["power/it_peak_w"])


def test_money_parts_sum_to_run_cost(run):
    workload, system, results = run
    fp = run_footprint(results[0], workload, system, 384, default_setting())
    parts = sum(v for k, v in fp.items() if k.startswith("money/") and k.endswith("_usd")
                and k not in ("money/run_usd", "money/capex_usd", "money/tco_usd"))
    np.testing.assert_allclose(parts, fp["money/run_usd"])


@pytest.mark.parametrize("cooling_id", sorted(catalog.cooling()))
def test_pue_stays_inside_the_sourced_range_everywhere(cooling_id):
    cooling = catalog.get("cooling", cooling_id)
    for site in catalog.sites().values():
        assert cooling.pue_min <= facility.pue(cooling, site) <= cooling.pue_max


@given(temperature=st.floats(min_value=-50, max_value=55))
def test_pue_is_monotonic_in_temperature_and_bounded(temperature):
    cooling = Cooling(id="c", name="c", pue_min=1.1, pue_max=1.5, rack_power_max_w=40e3, source="t", retrieved="-")
    site = catalog.get("sites", "us-virginia")
    warm = dataclasses.replace(site, mean_temperature_c=temperature)
    warmer = dataclasses.replace(site, mean_temperature_c=min(temperature + 5, 60))
    assert 1.1 <= facility.pue(cooling, warm) <= facility.pue(cooling, warmer) <= 1.5


@given(a=st.floats(min_value=0, max_value=1000), b=st.floats(min_value=0, max_value=1000))
def test_cleaner_grid_never_raises_carbon(a, b):
    energy = np.array([3.6e12])
    low, high = sorted((a, b))
    assert carbon.tonnes_co2e(energy, low)[0] <= carbon.tonnes_co2e(energy, high)[0]


def test_cleaner_site_never_raises_run_carbon(run):
    workload, system, results = run
    sites = sorted(catalog.sites().values(), key=lambda s: s.carbon_g_per_kwh)
    setting = default_setting()
    emitted = []
    for site in sites:
        same_pue = dataclasses.replace(setting, site=site, pue_override=1.2)
        emitted.append(run_footprint(results[0], workload, system, 384, same_pue)["carbon/tco2e"][0])
    assert all(x <= y for x, y in zip(emitted, emitted[1:], strict=False))


def test_more_devices_more_interruptions_and_power(run):
    workload, system, results = run
    fps = [run_footprint(r, workload, system, 96 * d, default_setting()) for r, d in zip(results, (4, 8, 16),
                                                                                           strict=True)]
    assert fps[0]["reliability/mtbf_s"][0] > fps[1]["reliability/mtbf_s"][0] > fps[2]["reliability/mtbf_s"][0]
    assert fps[0]["power/it_peak_w"][0] < fps[1]["power/it_peak_w"][0] < fps[2]["power/it_peak_w"][0]


def test_nodes_per_rack_known_only_for_rack_scale_systems():
    from flopwatt import catalog
    from flopwatt.catalog import facility_costs
    from flopwatt.energy.facility import nodes_per_rack

    racks = facility_costs.facility_costs().racks
    for system_id, system in catalog.systems().items():
        per_rack, basis = nodes_per_rack(system)
        if system_id in racks:  # one scale-up domain per rack, in whole nodes
            assert per_rack == system.scale_up_domain_devices // system.devices_per_node and "scale-up" in basis
        else:
            assert per_rack is None and "unknown" in basis
    assert nodes_per_rack(catalog.get("systems", "gb200-nvl72"))[0] == 18  # 18 compute trays (NVIDIA user guide)
