"""flopwatt capacity: config errors, plan invariants (power, energy, carbon, money), reasons for unmet
demand, refresh, data gravity, caching, the CLI and the shipped scenarios."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from capacity_base import BASE, config, tables
from flopwatt import catalog
from flopwatt.capacity.config import parse_config
from flopwatt.capacity.plan import periods, run_plan
from flopwatt.cli import main
from flopwatt.errors import InputError

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize(("change", "needle"), [
    ({"extra": {}}, "config.extra"),
    ({"policy": {"refresh_year": 4}}, "[policy].refresh_year"),
    ({"policy": {"utilisation_target": 1.5}}, "[policy].utilisation_target"),
    ({"policy": {"fabric_topology": "ring"}}, "[policy].fabric_topology"),
    ({"capacity": {"step": "month"}}, "[capacity].step"),
    ({"capacity": {"last_year": 2020}}, "[capacity].last_year"),
    ({"hardware": {"x": {"accelerator": "h100", "available_from": 2024, "tiers": ["cloud"]}}}, "h100-sxm5-80gb"),
    ({"hardware": {"x": {"accelerator": "h100-sxm5-80gb", "available_from": 2024, "tiers": ["sky"]}}},
     "[hardware.x].tiers"),
    ({"hardware": {"x": {"accelerator": "h100-sxm5-80gb", "available_from": 2024, "available_until": 2023,
                         "tiers": ["cloud"]}}}, "[hardware.x].available_until"),
    ({"sites": {"x": {"site": "atlantis", "tier": "cloud", "cooling": "air", "mw_available": {"2026": 1}}}},
     "atlantis"),
    ({"sites": {"x": {"site": "us-oregon", "tier": "cloud", "cooling": "air", "mw_available": {"soon": 1}}}},
     "[sites.x].mw_available.soon"),
    ({"sites": {"x": {"site": "us-oregon", "tier": "cloud", "cooling": "air", "mw_available": {"2026": -1}}}},
     "[sites.x].mw_available.2026"),
    ({"sites": {"x": {"site": "us-oregon", "tier": "cloud", "cooling": "air", "mw_available": {"2026": 1},
                      "rtt_s": {"us-east": -0.1}}}}, "[sites.x].rtt_s.us-east"),
    ({"sites": {"x": {"site": "us-oregon", "tier": "edge", "cooling": "air", "mw_available": {"2026": 1},
                      "hardware": ["h100"]}}}, "[sites.x].hardware"),
    ({"training": {"small": {**BASE["training"]["small"], "data_site": "mars"}}}, "[training.small].data_site"),
    ({"training": {"small": {**BASE["training"]["small"], "data_bytes": None}}}, "[training.small].data_bytes"),
    ({"serving": {"chat": {**BASE["serving"]["chat"], "output_tokens_per_day": 1e9}}}, "exactly one of"),
    ({"serving": {"chat": {**BASE["serving"]["chat"], "growth_per_year": -2}}}, "[serving.chat].growth_per_year"),
    ({"serving": {"chat": {**BASE["serving"]["chat"], "tiers": ["orbit"]}}}, "[serving.chat].tiers"),
    ({"serving": {"chat": {**BASE["serving"]["chat"], "region": "moon"}}}, "[serving.chat].region"),
    ({"serving": {"chat": {**BASE["serving"]["chat"], "precision": "fp7"}}}, "[serving.chat].precision"),
    ({"training": {"small": {**BASE["training"]["small"], "precision": "bf17"}}}, "[training.small].precision"),
])
def test_bad_config_is_one_input_error_naming_the_field(change, needle):
    data = tables(**change)
    for table in data.values():  # a None value in a change removes that key
        for entry in table.values() if isinstance(table, dict) else ():
            if isinstance(entry, dict):
                for k in [k for k, v in entry.items() if v is None]:
                    entry.pop(k)
    with pytest.raises(InputError) as exc:
        parse_config(data)
    assert needle in str(exc.value)
    assert "\n" not in str(exc.value)


def test_a_config_needs_some_demand():
    with pytest.raises(InputError, match=r"\[training\]"):
        config(training=None, serving=None)


@pytest.fixture(scope="module")
def plan():
    return run_plan(config())


def test_power_never_exceeds_the_grid_connection(plan):
    for period in plan["periods"]:
        for site in period["sites"].values():
            assert site["mw_facility_peak"] <= site["mw_available"] + 1e-9


def test_energy_carbon_and_money_follow_from_each_other(plan):
    for period in plan["periods"]:
        for site in period["sites"].values():
            assert site["twh_facility"] == pytest.approx(site["twh_it"] * site["pue"])
            kwh = site["twh_facility"] * 1e9
            assert site["tco2e"] == pytest.approx(kwh * site["carbon_g_per_kwh"] / 1e6)
            assert site["energy_usd"] == pytest.approx(kwh * site["electricity_usd_per_kwh"])
            assert site["capex_usd"] == pytest.approx(site["capex_it_usd"] + site["capex_facility_usd"])
            assert site["opex_usd"] >= site["energy_usd"]


def test_demand_is_met_when_nothing_binds(plan):
    assert all(not p["unmet"] for p in plan["periods"])
    chat = [d for p in plan["periods"] for d in p["demand"] if d["demand"] == "chat"]
    assert chat[1]["tokens_per_s"] == pytest.approx(chat[0]["tokens_per_s"] * 1.5)  # 50 % growth a year


def test_each_estimate_is_made_once_per_run(plan):
    one_year = run_plan(config(capacity={"name": "t", "first_year": 2026, "last_year": 2026}))
    assert plan["estimates"] == one_year["estimates"]  # the second year asks the same questions


def test_devices_bought_once_are_reused_until_refresh():
    kept = run_plan(config())["periods"]
    assert kept[1]["totals"]["capex_usd"] < kept[0]["totals"]["capex_usd"]
    cfg = tables(policy={"refresh_years": 1})
    refreshed = run_plan(parse_config(cfg))["periods"]
    assert refreshed[1]["totals"]["capex_usd"] > kept[1]["totals"]["capex_usd"]


@pytest.mark.parametrize(("change", "why"), [
    ({"sites": {"east": {**BASE["sites"]["east"], "mw_available": {"2026": 0.001}},
                "west": {**BASE["sites"]["west"], "mw_available": {"2026": 0.001}}}}, "power"),
    ({"hardware": {"h100": {**BASE["hardware"]["h100"], "supply_per_year": 1},
                   "a100": {**BASE["hardware"]["a100"], "supply_per_year": 1}}}, "supply"),
    ({"policy": {**BASE["policy"], "budget_usd_per_year": 1e5}}, "budget"),
])
def test_unmet_demand_says_which_limit_stopped_it(change, why):
    periods_ = run_plan(parse_config({**BASE, **change}))["periods"]
    unmet = periods_[0]["unmet"]
    assert {u["demand"] for u in unmet} == {"small", "chat"}
    assert all(u["why"] == [why] and 0 < u["unmet_share"] <= 1 for u in unmet)


def test_users_out_of_reach_are_unmet_for_latency():
    """Every plan site's RTT to Singapore (catalog, > 0.15 s) uses up a 0.1 s TTFT target: no candidate."""
    serving = {"chat": {**BASE["serving"]["chat"], "region": "asia-southeast", "ttft_slo_s": 0.1}}
    unmet = run_plan(config(serving=serving))["periods"][0]["unmet"]
    assert [u["demand"] for u in unmet] == ["chat"]
    assert "latency" in unmet[0]["why"][0] and unmet[0]["unmet_share"] == 1


def test_a_tight_ttft_keeps_a_service_near_its_users():
    """Singapore's RTT to us-east (0.229 s, catalog) exceeds the TTFT target: only Virginia may serve."""
    sites = {"near": {"site": "us-virginia", "tier": "cloud", "cooling": "air", "mw_available": {"2026": 20}},
             "far": {"site": "sg-singapore", "tier": "cloud", "cooling": "direct-liquid",
                     "mw_available": {"2026": 20}}}
    serving = {"chat": {**BASE["serving"]["chat"], "ttft_slo_s": 0.2}}
    cfg = config(sites=sites, serving=serving, training=None,
                 capacity={"name": "t", "first_year": 2026, "last_year": 2026})
    period = run_plan(cfg)["periods"][0]
    assert set(period["demand"][0]["placed"]) <= {"near/h100", "near/a100"}
    assert not period["unmet"]


def test_edge_sites_take_only_their_tier():
    sites = {**BASE["sites"], "metro": {"site": "us-virginia", "tier": "edge", "cooling": "air",
                                        "mw_available": {"2026": 5}, "rtt_s": {"us-east": 0.002}}}
    serving = {"chat": {**BASE["serving"]["chat"], "tiers": ["edge"]}}
    cfg = config(sites=sites, serving=serving, training=None)
    assert cfg.sites["metro"].hardware == ("a100",)
    assert cfg.sites["metro"].rtt_s["us-east"] == 0.002  # the user's figure over the catalog's
    placed = run_plan(cfg)["periods"][0]["demand"][0]["placed"]
    assert set(placed) == {"metro/a100"}


def test_training_away_from_its_data_moves_data_and_checkpoint():
    training = {"small": {**BASE["training"]["small"], "sites": ["west"]}}
    period = run_plan(config(training=training))["periods"][0]
    [g] = period["data_gravity"]
    model = catalog.get("models", "gpt3-1.3b")
    expected = 1e12 + model.total_params(2048) * catalog.failure_model().bytes_per_param
    assert g["bytes_moved"] == pytest.approx(expected)
    assert g["transfer_hours"] == pytest.approx(expected / 1e9 / 3600)
    j_per_byte = catalog.data_movement()["wan"]["j_per_byte"]
    assert g["transfer_mwh"] == pytest.approx(expected * j_per_byte / 3.6e9)


def test_quarters_split_the_years():
    steady = {"chat": {**BASE["serving"]["chat"], "growth_per_year": 0.0}}
    cfg = config(capacity={"name": "t", "first_year": 2026, "last_year": 2027, "step": "quarter"}, serving=steady)
    labels = [p.label for p in periods(cfg)]
    assert labels[:2] == ["2026Q1", "2026Q2"] and len(labels) == 8
    quarterly = run_plan(cfg)["periods"]
    yearly = run_plan(config(serving=steady))["periods"]
    assert {d["demand"] for d in quarterly[1]["demand"]} == {"chat"}  # the 30-day job fits in the first quarter
    for key in ("twh_facility", "tco2e"):  # steady demand: four quarters hold the year's energy and carbon
        assert sum(q["totals"][key] for q in quarterly[:4]) == pytest.approx(yearly[0]["totals"][key], rel=1e-6)


def _toml(data: dict) -> str:
    """BASE as TOML: [table] of scalars, or [table.ID] of scalars and inline tables."""
    lines = []
    for table, body in data.items():
        if all(not isinstance(v, dict) for v in body.values()):
            lines += [f"[{table}]", *(f"{k} = {json.dumps(v)}" for k, v in body.items())]
            continue
        for key, entry in body.items():
            lines.append(f"[{table}.{key}]")
            lines += [f"{k} = {_inline(v) if isinstance(v, dict) else json.dumps(v)}" for k, v in entry.items()]
    return "\n".join(lines)


def test_cli_writes_json_csv_and_html(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text(_toml(BASE), encoding="utf-8")
    out_csv, out_html = tmp_path / "c.csv", tmp_path / "c.html"
    assert main(["capacity", str(path), "--json", "--csv", str(out_csv), "--report", str(out_html)]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["inputs"]["policy"]["utilisation_target"] == 0.6  # policy numbers are stated
    assert any("no scale-out fabric" in a for a in payload["assumptions"])  # and the rules behind the figures
    rows = list(csv.DictReader(out_csv.open(encoding="utf-8")))
    assert len(rows) == 2 * 2 and rows[0]["period"] == "2026"
    page = out_html.read_text(encoding="utf-8")
    assert page.count("<svg") == 4 and "Policy inputs" in page


def _inline(table: dict) -> str:
    return "{ " + ", ".join(f'"{k}" = {json.dumps(v)}' for k, v in table.items()) + " }"


def test_cli_bad_input_is_one_line_exit_2(tmp_path, capsys):
    assert main(["capacity", str(tmp_path / "missing.toml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("flopwatt capacity: error: config") and err.count("\n") == 1


def test_scenarios_run_and_tell_their_story():
    load = parse_config
    east = run_plan(load(catalog.read_toml(EXAMPLES / "capacity-east-data-west-compute.toml", "x")))["periods"]
    moved_east = {m["demand"] for p in east for m in p["placements"]}
    moved_west = {g["demand"]: set(g["placed"]) for p in east for g in p["data_gravity"]}
    assert {"voice-east", "search-south"} <= moved_east  # tight TTFTs keep them in the eastern cities
    assert all(s <= {"inner-mongolia", "ningxia", "guizhou"} for s in moved_west.values()) and moved_west
    russia = run_plan(load(catalog.read_toml(EXAMPLES / "capacity-russia.toml", "x")))["periods"]
    reasons = {w for p in russia for u in p["unmet"] for w in u["why"]}
    assert {"power", "supply"} <= reasons
    hyper = run_plan(load(catalog.read_toml(EXAMPLES / "capacity-hyperscaler.toml", "x")))["periods"]
    mw = [p["totals"]["mw_facility_peak"] for p in hyper]
    assert mw == sorted(mw) and len({s for p in hyper for s, v in p["sites"].items() if v["devices"]}) >= 3


def test_a_budget_cannot_buy_hardware_without_a_price():
    hardware = {"h800": {"accelerator": "h800-sxm5-80gb", "available_from": 2024, "tiers": ["cloud"]}}
    cfg = config(hardware=hardware, policy={**BASE["policy"], "budget_usd_per_year": 1e12}, training=None,
                 capacity={"name": "t", "first_year": 2026, "last_year": 2026})
    [unmet] = run_plan(cfg)["periods"][0]["unmet"]
    assert unmet["why"] == ["no-price"] and unmet["unmet_share"] == 1


def test_device_tier_serves_its_own_users():
    """On-device inference as a tier: a 'device' site with its own hardware and a zero round trip."""
    hardware = {**BASE["hardware"], "handset": {"accelerator": "a100-sxm4-40gb", "available_from": 2020,
                                                "tiers": ["device"]}}
    sites = {**BASE["sites"], "phones": {"site": "us-virginia", "tier": "device", "cooling": "air",
                                         "pue": 1.0, "mw_available": {"2026": 1}, "rtt_s": {"us-east": 0.0}}}
    serving = {"chat": {**BASE["serving"]["chat"], "tiers": ["device"]}}
    cfg = config(hardware=hardware, sites=sites, serving=serving, training=None)
    assert cfg.sites["phones"].hardware == ("handset",)
    period = run_plan(cfg)["periods"][0]
    assert set(period["demand"][0]["placed"]) == {"phones/handset"}
    assert period["sites"]["phones"]["pue"] == 1.0
