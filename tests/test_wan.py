"""WAN round trips: the catalog table (wan_rtt.toml), how sites inherit it, and user RTTs in fleet configs."""

from __future__ import annotations

import copy
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from flopwatt import catalog
from flopwatt.catalog import wan
from flopwatt.errors import InputError
from flopwatt.fleet.config import parse_config
from flopwatt.fleet.metrics import summarize
from flopwatt.fleet.policies import make_policy
from flopwatt.fleet.simulate import prepare, simulate
from test_fleet import BASE


def test_every_row_is_sourced_dated_and_plausible():
    rows = wan.table().rows
    assert len(rows) >= 10
    for row in rows:
        assert row.source.strip() and row.retrieved == "2026-12-06"
        assert 0 < row.rtt_s < 0.5, row  # the longest great-circle round trip on fibre is ~0.2-0.4 s


def test_the_table_covers_chinese_and_russian_places():
    places = {p for r in wan.table().rows for p in (r.a, r.b)}
    assert {"moscow", "guizhou-gui-an", "beijing-tianjin-hebei", "yangtze-river-delta"} <= places


def test_lookup_is_symmetric_and_unknown_is_none():
    t = wan.table()
    assert t.rtt_s("moscow", "paris") == t.rtt_s("paris", "moscow") == pytest.approx(0.05674)
    assert t.rtt_s("moscow", "beijing-tianjin-hebei") is None


def test_sites_inherit_their_places_rtts():
    assert set(wan.table().site_places) <= set(catalog.sites())
    guizhou = wan.site_rtt_s(catalog.get("sites", "cn-guizhou"))
    assert guizhou["beijing-tianjin-hebei"] == pytest.approx(0.020)
    virginia = catalog.get("sites", "us-virginia")
    assert wan.site_rtt_s(virginia) == virginia.wan_rtt_s  # no place mapped: the catalog's own table


def test_a_duplicate_pair_is_an_error(monkeypatch):
    text = resources.files("flopwatt.catalog").joinpath("wan_rtt.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    data["rtt"].append({**data["rtt"][0], "a": data["rtt"][0]["b"], "b": data["rtt"][0]["a"]})
    monkeypatch.setattr(wan, "read_toml", lambda *_: data)
    wan.table.cache_clear()
    try:
        with pytest.raises(InputError, match="one row per pair"):
            wan.table()
    finally:
        wan.table.cache_clear()


def _fleet(**changes):
    data = copy.deepcopy(BASE)
    data.update(changes)
    return parse_config(data, Path("."))


def test_fleet_sites_take_a_user_rtt_for_any_region():
    cfg = _fleet(sites={"us-oregon": {"rtt_s": {"us-east": 0.02, "mars-base": 1.3}}, "us-virginia": {}})
    rtt = cfg.sites["us-oregon"].site.wan_rtt_s
    assert rtt["us-east"] == 0.02 and rtt["mars-base"] == 1.3
    assert rtt["us-west"] == catalog.get("sites", "us-oregon").wan_rtt_s["us-west"]  # the rest kept


@pytest.mark.parametrize(("rtt", "needle"), [
    ({"us-east": -1}, "[sites.us-oregon].rtt_s.us-east"),
    ({"us-east": "fast"}, "[sites.us-oregon].rtt_s.us-east"),
    ({}, "[sites.us-oregon].rtt_s"),
    ("0.1", "[sites.us-oregon].rtt_s"),
])
def test_fleet_bad_rtt_is_one_input_error(rtt, needle):
    with pytest.raises(InputError) as exc:
        _fleet(sites={"us-oregon": {"rtt_s": rtt}, "us-virginia": {}})
    assert needle in str(exc.value)


def test_latency_aware_policy_uses_the_user_rtt():
    """A region no catalog table knows ('metro-x'): with the user's RTTs the latency-aware policy serves it
    from the near site and meets the TTFT target; without them the service is rejected at load."""
    services = {"chat": {"model": "llama3-8b", "user_region": "metro-x", "ttft_slo_s": 0.15, "tpot_slo_s": 0.05,
                         "rate_per_s": 5.0, "input_len": 1000, "output_len": 200}}
    sites = {"sg-singapore": {"rtt_s": {"metro-x": 0.3}}, "us-virginia": {"rtt_s": {"metro-x": 0.003}}}
    pools = {"far": {"site": "sg-singapore", "accelerator": "h100-sxm5-80gb", "devices": 16},
             "near": {"site": "us-virginia", "accelerator": "h100-sxm5-80gb", "devices": 16}}
    jobs = [{"class": "small", "arrival_s": 0.0, "devices": 8, "tokens": 1e9}]
    fleet = {"name": "t", "horizon_s": 3600.0, "service_interval_s": 600.0}
    prep = prepare(_fleet(services=services, sites=sites, pools=pools, jobs=jobs, fleet=fleet))
    aware = summarize(simulate(prep, make_policy("latency-aware")))
    assert aware["services"]["overall"]["slo_attainment"] == 1.0
    with pytest.raises(InputError, match="user_region"):
        _fleet(services=services, pools=pools, jobs=jobs, fleet=fleet,
               sites={"sg-singapore": {}, "us-virginia": {}})
