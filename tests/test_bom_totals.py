"""Fabric bill of materials: totals flag unpublished parts; copper-first cables top-of-rack leaves in copper."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flopwatt.cli import run_command
from flopwatt.fabric.bom import Bom
from flopwatt.fabric.design import design, summary
from flopwatt.fabric.network import FabricSpec

PART = st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.integers(1, 1000),
                 st.one_of(st.none(), st.floats(0, 1e3)), st.one_of(st.none(), st.floats(0, 1e5)))


@given(st.lists(PART, max_size=8))
def test_totals_are_unknown_while_any_part_lacks_its_figure(parts):
    bom = Bom()
    for name, count, watts, usd in parts:
        bom.add(name, count, watts, usd)
    totals = bom.totals()
    priced = all(usd is not None for *_, usd in parts)
    powered = all(watts is not None for _, _, watts, _ in parts)
    assert (totals["usd_total"] is not None) == priced and (totals["w_total"] is not None) == powered
    if priced:
        assert totals["usd_total"] == pytest.approx(sum(c * u for _, c, _, u in parts))
    assert totals["unpriced_parts"] == sum(bom.unknown_price.values())


def _bom(topology: str, media: str, endpoints: int = 1024):
    fabric, bom = design(FabricSpec(topology=topology, media=media), endpoints, 8)
    return summary(fabric, bom)["bom"]


def test_copper_first_uses_copper_where_a_top_of_rack_leaf_allows():
    tor = _bom("fat-tree", "copper-first")
    assert "aec-800g" in tor["parts"] and tor["notes"]
    assert not any(p.startswith(("dac", "aec")) for p in _bom("fat-tree", "optics")["parts"])
    rail = _bom("rail-optimized", "copper-first")  # a rail leaf gathers NICs across racks: no copper
    assert not any(p.startswith(("dac", "aec")) for p in rail["parts"]) and not rail["notes"]
    # the hall tier (leaf to spine, 100 m) stays optical under every policy
    assert tor["parts"]["dr-800g"] == _bom("fat-tree", "optics")["parts"]["dr-800g"]


def test_fabric_text_and_json_flag_the_unpriced_parts():
    payload, text = run_command(["fabric", "--topology", "fat-tree", "--endpoints", "1024", "--media",
                                 "copper-first", "--json"])
    bom = payload["bom"] if "bom" in payload else payload[0]["bom"]
    assert bom["usd_total"] is None and bom["unpriced_parts"] == 2048 and bom["usd_known"] > 0
    assert "total: unknown ($" in text and "2,048 unpriced parts" in text


# ---- the fabric's price in the training capex --------------------------------------------------------------

def _train(media: str | None, devices: int = 256):
    from flopwatt import api
    from flopwatt.api.requests import TrainRequest

    extra = {} if media is None else {"fabric": "fat-tree", "media": media}
    return api.train(TrainRequest(model="gpt3-1.3b", devices=devices, global_batch=256, tokens=1e9, advise=False,
                                  **extra))


def test_a_priced_fabric_is_its_own_capex_line_and_adds_exactly_its_bom():
    from flopwatt.economics import YEAR_S
    from flopwatt.footprint import default_setting, facility_economics

    econ = facility_economics(default_setting())  # the default site and cooling of both runs
    plain, lpo = _train(None), _train("lpo")  # lpo: every part of this fabric has a price
    bom_usd = lpo.details["fabric"]["bom"]["usd_total"]
    assert bom_usd is not None and bom_usd > 0
    a, b = plain.footprint, lpo.footprint
    wall = b["reliability/expected_wall_s"]
    assert wall == pytest.approx(a["reliability/expected_wall_s"])  # the same plan and wall time
    assert b["money/fabric_capex_usd"] == pytest.approx(bom_usd)
    # capex grows by the BOM plus the facility built for the network's watts
    assert b["money/capex_usd"] - a["money/capex_usd"] == pytest.approx(
        bom_usd + (b["power/it_peak_w"] - a["power/it_peak_w"]) * econ.facility_capex_usd_per_w)
    assert b["money/fabric_depreciation_usd"] == pytest.approx(bom_usd * wall / (econ.it_depreciation_years * YEAR_S))
    assert b["money/maintenance_usd"] - a["money/maintenance_usd"] == pytest.approx(
        bom_usd * econ.maintenance_fraction_per_year * wall / YEAR_S)
    assert b["money/run_usd"] > a["money/run_usd"] and "money/fabric_capex_usd" not in a
    assert any(line.startswith("money: fabric capex") for line in lpo.assumptions)
    assert any("no scale-out fabric designed" in line for line in plain.assumptions)


def test_an_unpriced_fabric_part_makes_the_money_totals_unknown_not_zero():
    out = _train("copper-first")  # AEC and DR optics: the AEC has no published price
    bom = out.details["fabric"]["bom"]
    assert bom["usd_total"] is None and bom["unpriced_parts"] > 0
    fp = out.footprint
    for key in ("money/run_usd", "money/capex_usd", "money/tco_usd", "money/maintenance_usd",
                "money/usd_per_device_hour", "money/usd_per_million_tokens", "money/fabric_capex_usd"):
        assert key not in fp, key
    assert fp["fabric/unpriced_parts"] == bom["unpriced_parts"]
    assert fp["money/it_depreciation_usd"] > 0 and fp["money/energy_usd"] > 0  # the known lines stay
    assert any("aec-800g" in u for u in out.unknown)
    text = run_command(["train", "--model", "gpt3-1.3b", "--devices", "256", "--global-batch", "256", "--tokens",
                        "1e9", "--fabric", "fat-tree", "--media", "copper-first", "--no-advise"])[1]
    assert "money: totals unknown" in text and "fabric parts unpriced" in text


# ---- copper wherever the rack layout lets it reach -------------------------------------------------------------

def _gb200_bom(topology: str, switch: str, media: str = "copper-first", nodes_per_rack: int = 18):
    from flopwatt.fabric.bom import RackLayout

    layout = RackLayout(nodes_per_rack=nodes_per_rack, nics_per_node=4, basis="test layout")
    return design(FabricSpec(topology=topology, switch=switch, media=media), 1152, 4, layout=layout)


def _copper(parts: dict) -> set[str]:
    return {p for p in parts if p.startswith(("dac", "aec"))}


@pytest.mark.parametrize(("topology", "switch", "expected"), [
    ("fat-tree", "eth-51t2-400g", {"dac-800g"}),        # 64 NICs = 16 trays of 4: inside one 18-tray rack
    ("rail-optimized", "eth-51t2-800g", {"aec-800g"}),  # 32 trays (one NIC each): 2 racks, adjacent
    ("rail-only", "eth-51t2-800g", {"aec-800g"}),
    ("rail-optimized", "eth-51t2-400g", set()),         # 64 trays: 4 racks, beyond adjacent reach
    ("dragonfly", "eth-51t2-400g", {"dac-800g"}),       # endpoints in-rack; a group's local links span 16 racks
])
def test_copper_first_uses_copper_exactly_where_the_layout_lets_it_reach(topology, switch, expected):
    fabric, bom = _gb200_bom(topology, switch)
    assert _copper(bom.parts) == expected
    assert bom.notes and all("rack" in n for n in bom.notes)
    if expected:  # copper on the endpoint links only; links above them stay optical
        assert sum(bom.parts[p] for p in expected) == 2 * fabric.topology.endpoint_links
    _, optics = _gb200_bom(topology, switch, media="optics")  # the layout never forces copper on 'optics'
    assert not _copper(optics.parts)


@given(st.integers(1, 80), st.sampled_from(["fat-tree", "rail-optimized", "rail-only", "dragonfly"]),
       st.sampled_from(["eth-51t2-400g", "eth-51t2-800g"]))
def test_copper_only_within_three_racks(nodes_per_rack, topology, switch):
    from flopwatt.fabric.bom import COPPER_SPAN_RACKS, LENGTH_M

    _, bom = _gb200_bom(topology, switch, nodes_per_rack=nodes_per_rack)
    assert "endpoints" in bom.placement
    for tier, placed in bom.placement.items():
        racks = -(-int(-(-placed["nodes_per_switch"] // 1)) // nodes_per_rack)
        assert placed["racks"] == racks, tier
        expected = "in-rack" if racks == 1 else "adjacent-racks" if racks <= COPPER_SPAN_RACKS else None
        assert (placed["length_class"] == expected) if expected else placed["length_class"] in ("row", "hall")
    media = catalog_media()
    classes = {p["length_class"] for p in bom.placement.values()}
    for part in _copper(bom.parts):  # copper only where a placed class is within its reach
        assert any(LENGTH_M[c] <= media[part].reach_m for c in classes)


def catalog_media():
    from flopwatt import catalog

    return catalog.network_parts()["medium"]


def test_serving_cost_counts_a_designed_fabric_and_flags_an_unpriced_one():
    from flopwatt import catalog
    from flopwatt.footprint import default_setting
    from flopwatt.serve_cost import serving_footprint

    system, setting = catalog.get("systems", "dgx-h100"), default_setting()
    plain = serving_footprint(system, 64, 5000.0, setting)
    _, lpo = design(FabricSpec(topology="fat-tree", media="lpo"), 64, 8)
    priced = serving_footprint(system, 64, 5000.0, setting, fabric_bom=lpo)
    assert lpo.totals()["usd_total"] > 0 and priced["fabric_usd_per_million_output_tokens"] > 0
    assert priced["capex_usd_per_million_output_tokens"] > plain["capex_usd_per_million_output_tokens"]
    assert priced["it_power_w"] == pytest.approx(plain["it_power_w"] + lpo.watts)
    _, copper = design(FabricSpec(topology="fat-tree", media="copper-first"), 64, 8)  # AEC: unpriced
    unknown = serving_footprint(system, 64, 5000.0, setting, fabric_bom=copper)
    assert unknown["usd_per_million_output_tokens"] is None and "fabric parts" in unknown["unknown"]
