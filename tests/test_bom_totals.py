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
