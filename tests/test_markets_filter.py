"""Market filter (plan, serve compare, fleet), facility capex by region and cooling, the air rack limit."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flopwatt import api, catalog
from flopwatt.api.requests import PlanSearchRequest, ServeCompareRequest, ServeRequest
from flopwatt.catalog import facility_costs, markets
from flopwatt.cli import run_command
from flopwatt.errors import InputError
from flopwatt.fleet.config import parse_config
from flopwatt.footprint import default_setting, facility_footprint
from flopwatt.search import config as plan_config
from flopwatt.search import engine

# accelerators with a catalog system each; a mix of allowed / licence / not-offered in every market
MENU = ["a100-sxm4-80gb", "h100-sxm5-80gb", "h20", "v100-sxm2-32gb", "ascend-910b", "ascend-910c", "tpu-v6e",
        "mi300x", "gaudi3", "b200-sxm-180gb"]
SERVE = {"model": "llama3.1-70b", "input_len": 1024, "output_len": 256}


def _plan(menu: dict, model: str = "gpt3-1.3b") -> plan_config.PlanConfig:
    data = {"workload": {"model": model, "tokens": 1e9, "global_batch": 64}, "menu": {"devices": [8], **menu},
            "output": {"top_k": 50}}
    return plan_config.from_request(PlanSearchRequest.model_validate(data))


@settings(max_examples=40, deadline=None)
@given(market=st.sampled_from(sorted(markets.markets())), chosen=st.sets(st.sampled_from(MENU), min_size=1))
def test_market_filter_keeps_exactly_the_allowed_accelerators(market, chosen):
    chosen = sorted(chosen)
    allowed = [a for a in chosen if markets.allowed(market, a)[0]]
    if not allowed:
        with pytest.raises(InputError, match=r"\[menu\]\.market"):
            _plan({"accelerators": chosen, "market": market})
        return
    cfg = _plan({"accelerators": chosen, "market": market})
    kept = {catalog.get("systems", s).accelerator.id for s in cfg.systems}
    removed = {r["accelerator"] for r in cfg.market_excluded}
    assert kept == set(allowed) and removed == set(chosen) - set(allowed)
    for r in cfg.market_excluded:  # each removal names its rule and the rule's source
        assert r["status"] != "allowed" and r["source"] and r["accelerator"] in r["rule"]


def test_plan_in_china_never_returns_a_chip_the_rules_forbid_there():
    cfg = _plan({"accelerators": ["h100-sxm5-80gb", "h20", "a100-sxm4-80gb", "v100-sxm2-32gb", "tpu-v6e"],
                 "market": "cn"})
    report = engine.search(cfg, workers=1)
    rows = report.front + report.top
    assert rows, "the search must return configurations"
    for row in rows:
        acc = catalog.get("systems", row["system"]).accelerator.id
        assert markets.allowed("cn", acc)[0], row["system"]
    removed = {r["accelerator"]: r for r in plan_config.market_summary(cfg)["removed"]}
    assert set(removed) == {"h100-sxm5-80gb", "h20", "a100-sxm4-80gb", "tpu-v6e"}
    assert removed["h20"]["rule_id"] == "cn-h20-licence" and removed["tpu-v6e"]["status"] == "not-offered"
    # without the market, the same menu does return the chips the rules forbid in China
    free = engine.search(_plan({"accelerators": ["h100-sxm5-80gb", "v100-sxm2-32gb"]}), workers=1)
    assert any(r["system"] == "dgx-h100" for r in free.top)


def test_plan_market_errors_name_the_key():
    with pytest.raises(InputError, match=r"\[menu\]\.market.*unknown id 'xx'|\[menu\]\.market"):
        _plan({"accelerators": ["h100-sxm5-80gb"], "market": "xx"})
    with pytest.raises(InputError, match=r"\[menu\]\.market"):
        _plan({"accelerators": ["h100-sxm5-80gb"], "market": "ru"})


def test_plan_cli_prints_the_market_rule_and_json_lists_it(tmp_path):
    path = tmp_path / "plan.toml"
    path.write_text('[workload]\nmodel = "gpt3-1.3b"\ntokens = 1e9\nglobal_batch = 64\n[menu]\n'
                    'accelerators = ["h100-sxm5-80gb", "v100-sxm2-32gb"]\ndevices = [8]\nmarket = "cn"\n')
    payload, text = run_command(["plan", str(path), "--no-progress", "--workers", "1"])
    assert "market cn: searched dgx-2-v100; removed 1" in text
    assert "rule cn-3a090-blackwell-and-earlier" in text and "source: BIS rules" in text
    assert payload["market"]["removed"][0]["accelerator"] == "h100-sxm5-80gb"
    assert {r["system"] for r in payload["top"]} == {"dgx-2-v100"}
    assert payload["assumptions"] == ["us-virginia / air: facility capex 11.7 US$/W (United States, average of 19 "
                                      "markets (Cushman & Wakefield 2025), 2024), air-cooled (the baseline of the "
                                      "cost figures)"]
    assert "assumptions:\n  - us-virginia / air: facility capex 11.7 US$/W" in text


def test_serve_compare_excludes_by_market_with_the_rule():
    req = ServeCompareRequest(**SERVE, accelerator=["h100-sxm5-80gb", "h20", "v100-sxm2-32gb"], devices=[8],
                              market="cn")
    out = api.serve_compare(req)
    assert [r.feasible for r in out] == [False, False, True]
    assert all(r.reason == "market" and r.plans_evaluated == 0 for r in out[:2])
    assert "cn-h20-licence" in out[1].message and out[1].details["market"]["source"]
    with pytest.raises(InputError, match="market"):
        api.serve_compare(ServeCompareRequest(**SERVE, accelerator=["h100-sxm5-80gb"], market="xx"))


def test_serve_compare_perf_per_watt_and_per_dollar_columns():
    payload, text = run_command(["serve", "compare", "--model", "llama3.1-70b", "--accelerator",
                                 "h100-sxm5-80gb,ascend-910c,mtt-s4000", "--devices", "8", "--input-len", "1024",
                                 "--output-len", "256"])
    h100, ascend, mtt = (p["metrics"] for p in payload)
    for m in (h100, ascend):
        assert m["joules_per_output_token"] == pytest.approx(m["it_joules_per_output_token"] * m["pue"])
        assert m["capex_usd_per_million_output_tokens"] + m["energy_usd_per_million_output_tokens"] == \
            pytest.approx(m["usd_per_million_output_tokens"])
        assert m["energy_usd_per_million_output_tokens"] > 0 and m["capex_usd_per_million_output_tokens"] > 0
    # the 910C's power is SemiAnalysis' all-in system power shared by rule: the rule is in the assumptions
    assert any(a.startswith("board power of ascend-910c: 1456 W") for a in payload[1]["assumptions"])
    assert mtt["joules_per_output_token"] is None and mtt["usd_per_million_output_tokens"] is None
    assert "J/tok IT" in text and "J/tok fac" in text
    assert "mtt-s4000: unknown power, energy, carbon and money: mtt-s4000 board power unpublished" in text
    with pytest.raises(InputError, match="--market"):
        run_command(["serve", "--model", "llama3.1-70b", "--market", "cn", "--input-len", "8", "--output-len", "8"])


FLEET = {
    "fleet": {"name": "t", "market": "cn"},
    "sites": {"cn-guizhou": {}},
    "pools": {"old": {"site": "cn-guizhou", "accelerator": "v100-sxm2-32gb", "devices": 8}},
    "classes": {"small": {"model": "gpt3-125m", "seq_len": 2048, "global_batch": 64}},
    "jobs": [{"class": "small", "arrival_s": 0.0, "devices": 8, "tokens": 1e9}],
}


def test_fleet_market_rejects_a_pool_naming_it():
    assert parse_config(copy.deepcopy(FLEET), Path(".")).market == "cn"
    bad = copy.deepcopy(FLEET)
    bad["pools"]["hopper"] = {"site": "cn-guizhou", "accelerator": "h100-sxm5-80gb", "devices": 8}
    with pytest.raises(InputError, match=r"\[pools\.hopper\].*allowed in market cn.*licence"):
        parse_config(bad, Path("."))
    bad["fleet"]["market"] = "mars"
    with pytest.raises(InputError, match=r"\[fleet\]\.market"):
        parse_config(bad, Path("."))


def test_every_site_region_is_a_sourced_cost_figure():
    regions = facility_costs.facility_costs().regions
    mapped = 0
    for site in catalog.sites().values():
        if site.facility_region:
            assert site.facility_region in regions and site.facility_region_source, site.id
            mapped += 1
        else:
            assert not site.facility_region_source, site.id
    assert mapped >= 10


@pytest.mark.parametrize(("site", "cooling", "expected"), [
    ("de-frankfurt", "air", 11.6), ("de-frankfurt", "direct-liquid", 11.6 * 1.085), ("cn-gansu", "air", 8.0),
    ("jp-tokyo", "immersion", 15.2), ("ie-dublin", "direct-liquid", 11.7 * 1.085), ("us-texas", "rear-door", 11.7)])
def test_facility_capex_by_region_and_cooling(site, cooling, expected):
    value, rule = facility_costs.site_capex_usd_per_w(catalog.get("sites", site), cooling)
    assert value == pytest.approx(expected)
    assert "facility capex" in rule and (cooling != "rear-door" or "unknown" in rule)


@pytest.mark.parametrize("site", ["us-virginia", "de-frankfurt", "cn-guizhou", "no-oslo"])
def test_facility_depreciation_scales_with_the_cooling_capex_factor(site):
    system = catalog.get("systems", "dgx-h100")
    wall = np.array([3600.0 * 24])

    def facility_usd(cooling: str) -> float:
        fp = facility_footprint(system, 64, default_setting(site, cooling), device_w=(600.0, 700.0), wall_s=wall)
        return float(fp["money/facility_depreciation_usd"][0])

    air, liquid = facility_usd("air"), facility_usd("direct-liquid")
    region = catalog.get("sites", site).facility_region
    base = facility_costs.facility_costs().regions[region].usd_per_w if region else 11.7
    fp = facility_footprint(system, 64, default_setting(site, "air"), device_w=(600.0, 700.0), wall_s=wall)
    share = wall[0] / (catalog.economics().facility_depreciation_years * 365.25 * 86400)
    assert air == pytest.approx(float(fp["power/it_peak_w"][0]) * base * share)
    assert liquid / air == pytest.approx(1.085)


def test_results_state_the_facility_capex_rule():
    out = api.serve(ServeRequest(**SERVE, site="jp-tokyo", cooling="direct-liquid"))
    assert any(a.startswith("facility capex 15.2 US$/W") and "1.085" in a for a in out.assumptions)


def test_air_cooling_above_the_rack_limit_is_refused_as_data():
    """Moved to a feasibility reason (tests/test_cooling_rule.py has the train/serve/plan cases)."""
    limit = facility_costs.facility_costs().air_rack_limit.rack_power_max_w
    assert facility_costs.rack_power_w("gb200-nvl72")[0] > limit
    refused = api.serve(ServeRequest(**SERVE, accelerator="gb200", devices=72))
    assert (refused.feasible, refused.reason) == (False, "cooling") and "120 kW" in refused.message
    assert api.serve(ServeRequest(**SERVE, accelerator="gb200", devices=72, cooling="direct-liquid")).feasible
    assert _plan({"accelerators": ["gb200"], "cooling": ["direct-liquid", "air"]}).systems == ("gb200-nvl72",)


def test_web_plan_and_compare_report_the_market():
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from flopwatt.server.app import create_app

    client = TestClient(create_app())
    plan = client.post("/v1/plan", json={"workload": {"model": "gpt3-1.3b", "tokens": 1e9, "global_batch": 64},
                                         "menu": {"accelerators": ["h100-sxm5-80gb", "v100-sxm2-32gb"], "devices": [8],
                                                  "market": "cn"}}).json()
    assert plan["market"]["removed"][0]["rule_id"] == "cn-3a090-blackwell-and-earlier"
    assert {r["system"] for r in plan["top"]} == {"dgx-2-v100"}
    compare = client.post("/v1/serve/compare", json={**SERVE, "accelerator": ["h100-sxm5-80gb", "v100-sxm2-32gb"],
                                                     "market": "cn"}).json()
    assert [(r["feasible"], r["reason"]) for r in compare] == [(False, "market"), (True, None)]
