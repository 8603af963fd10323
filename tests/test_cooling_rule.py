"""The cooling rule: racks above the sourced air limit are refused for air as data (a reason, not an error),
in train, serve and plan; plan search skips air for such systems and keeps the other cooling types."""

from __future__ import annotations

import pytest

from flopwatt import api, catalog
from flopwatt.api.requests import PlanSearchRequest, ServeRequest, TrainRequest
from flopwatt.catalog import facility_costs
from flopwatt.perf import feasibility, reasons
from flopwatt.search import config as plan_config
from flopwatt.search import engine

SERVE = {"model": "llama3.1-70b", "input_len": 1024, "output_len": 256}
TRAIN = {"model": "gpt3-1.3b", "devices": 72, "global_batch": 72, "tokens": 1e9}


def _plan(accelerators: list[str], cooling: list[str]) -> engine.PlanReport:
    data = {"workload": {"model": "gpt3-1.3b", "tokens": 1e9, "global_batch": 72},
            "menu": {"devices": [72], "accelerators": accelerators, "cooling": cooling}, "output": {"top_k": 50}}
    return engine.search(plan_config.from_request(PlanSearchRequest.model_validate(data)), workers=1)


def test_rule_refuses_exactly_the_systems_above_the_air_limit():
    limit = facility_costs.facility_costs().air_rack_limit.rack_power_max_w
    above = facility_costs.systems_above_air_limit()
    assert "gb200-nvl72" in above
    for system_id, system in catalog.systems().items():
        why = feasibility.cooling_refusal(system, "air")
        assert (why is not None) == (system_id in above), system_id
        if why is not None:  # names the system, its rack power, the limit and where the limit comes from
            power = above[system_id][0]
            assert power > limit and system_id in why and f"{power / 1e3:g} kW" in why
            assert f"{limit / 1e3:g} kW" in why and "[air_rack_limit]" in why
            assert facility_costs.facility_costs().air_rack_limit.source in why
        for cooling in ("direct-liquid", "immersion", "rear-door"):  # only air has a sourced hard limit
            assert feasibility.cooling_refusal(system, cooling) is None
    nvl72 = catalog.get("systems", "gb200-nvl72")
    assert feasibility.cooling_allowed(nvl72, ["air", "direct-liquid", "air"]).tolist() == [False, True, False]
    assert feasibility.COOLING_REASON in reasons.EXPLANATIONS


def test_train_refuses_air_cooled_nvl72_as_data_and_accepts_liquid():
    out = api.train(TrainRequest(**TRAIN, accelerator="gb200", cooling="air", advise=False))
    assert not out.feasible and out.reason == "cooling"
    assert out.infeasible == {"cooling": out.plans_evaluated} and out.plans_evaluated > 0
    assert "gb200-nvl72 racks draw 120 kW" in out.message and "41 kW" in out.message
    liquid = api.train(TrainRequest(**TRAIN, accelerator="gb200", cooling="direct-liquid", advise=False))
    assert liquid.feasible and liquid.footprint["money/run_usd"] > 0
    assert api.train(TrainRequest(**{**TRAIN, "devices": 8, "global_batch": 64}, accelerator="h100-sxm5-80gb",
                                  cooling="air", advise=False)).feasible


def test_serve_refuses_air_cooled_nvl72_as_data():
    out = api.serve(ServeRequest(**SERVE, accelerator="gb200", devices=72))  # cooling defaults to air
    assert not out.feasible and out.reason == "cooling" and "120 kW" in out.message
    assert api.serve(ServeRequest(**SERVE, accelerator="gb200", devices=72, cooling="direct-liquid")).feasible
    assert api.serve(ServeRequest(**SERVE, accelerator="h100-sxm5-80gb", cooling="air")).feasible


def test_plan_skips_air_for_nvl72_and_keeps_air_for_hgx():
    report = _plan(["gb200", "h100-sxm5-80gb"], ["air", "direct-liquid"])
    rows = report.front + report.top
    assert rows
    assert {(r["system"], r["cooling"]) for r in rows if r["system"] == "gb200-nvl72"} <= {
        ("gb200-nvl72", "direct-liquid")}
    assert any(r["system"] == "gb200-nvl72" for r in rows)
    assert report.infeasible.get("cooling", 0) > 0
    assert report.configurations == report.feasible + sum(report.infeasible.values()) + sum(
        report.eliminated.values())
    hgx = _plan(["h100-sxm5-80gb"], ["air", "direct-liquid"])  # below the limit: both cooling types stay
    assert "cooling" not in hgx.infeasible and {r["cooling"] for r in hgx.front + hgx.top} == {"air", "direct-liquid"}


def test_plan_with_air_only_for_nvl72_has_no_feasible_row_and_says_why():
    report = _plan(["gb200"], ["air"])
    assert report.feasible == 0 and not report.front and not report.top
    assert set(report.infeasible) == {"cooling"} and report.infeasible["cooling"] == report.configurations


def test_cli_train_names_the_cooling_rule(capsys):
    from flopwatt.cli import run_command
    from flopwatt.errors import InputError

    argv = ["train", "--model", "gpt3-1.3b", "--accelerator", "gb200", "--devices", "72", "--global-batch", "72",
            "--tokens", "1e9", "--cooling"]
    with pytest.raises(InputError, match=r"racks draw more than this cooling type carries.*120 kW.*41 kW.*source"):
        run_command([*argv, "air"])
    payload, text = run_command([*argv, "direct-liquid"])
    assert payload["feasible"] and "41 kW" not in text
