"""Every catalog accelerator through train, serve, plan and the web: a result or one clear input error,
never a traceback or a 5xx. Unpublished figures make only the outputs that need them unknown."""

from __future__ import annotations

import pytest

from flopwatt import api, catalog
from flopwatt.api.requests import ServeRequest, TrainRequest
from flopwatt.catalog.facility_costs import systems_above_air_limit
from flopwatt.errors import InputError

ACCELERATORS = sorted(catalog.accelerators())


def _devices(acc_id: str) -> int:
    return catalog.system_for(acc_id).devices_per_node * 2


def _cooling(acc_id: str) -> str:
    """Air, except for systems whose racks exceed the sourced air limit (those need liquid: an InputError
    naming cooling otherwise, tested in test_markets_filter.py)."""
    return "direct-liquid" if catalog.system_for(acc_id).id in systems_above_air_limit() else "air"


def _call(fn, *args):
    """The result, or None where the device has no dense peak published (one InputError saying so)."""
    try:
        return fn(*args)
    except InputError as exc:
        assert "peak" in str(exc) or "precision" in str(exc), str(exc)
        return None


@pytest.mark.parametrize("acc", ACCELERATORS)
def test_train_serve_and_plan_on_every_accelerator(acc):
    device = catalog.accelerators()[acc]
    n = _devices(acc)
    cooling = _cooling(acc)
    trained = _call(api.train, TrainRequest(model="llama3-8b", accelerator=acc, devices=n, global_batch=n * 4,
                                            tokens=1e9, advise=False, cooling=cooling))
    served = _call(api.serve, ServeRequest(model="llama3-8b", accelerator=acc, devices=n, input_len=512,
                                           output_len=128, cooling=cooling))
    if not device.peak_flops_per_s:
        assert trained is None and served is None
        return
    for result in (trained, served):
        assert isinstance(result, api.Result)
        if result.feasible and device.board_power_w is None:
            assert any("board power unpublished" in u for u in result.unknown)
        # a derived (not vendor-rated) board power is used only with its rule stated
        ruled = any(a.startswith(f"board power of {acc}:") for a in result.assumptions)
        assert ruled == (device.board_power_rule is not None), (acc, result.assumptions)
    if trained.feasible and device.board_power_w is not None:
        assert trained.footprint["energy/facility_j"] > 0
    from flopwatt.search import config, engine

    cfg = config.from_dict({"workload": {"model": "llama3-8b", "tokens": 1e9, "global_batch": n * 4},
                            "menu": {"accelerators": [acc], "devices": [n], "cooling": [cooling]}})
    report = engine.search(cfg, workers=1)
    assert report.configurations > 0


def test_web_answers_every_accelerator_without_a_server_error():
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from flopwatt.server.app import create_app

    client = TestClient(create_app())
    for acc in ACCELERATORS:
        n = _devices(acc)
        cooling = _cooling(acc)
        train = client.post("/v1/train", json={"model": "llama3-8b", "accelerator": acc, "devices": n,
                                               "global_batch": n * 4, "advise": False, "cooling": cooling})
        serve = client.post("/v1/serve", json={"model": "llama3-8b", "accelerator": acc, "devices": n,
                                               "input_len": 512, "output_len": 128, "cooling": cooling})
        for response in (train, serve):
            assert response.status_code in (200, 400), (acc, response.status_code, response.text)
        plan = client.post("/v1/plan", json={"workload": {"model": "llama3-8b", "tokens": 1e9, "global_batch": n * 4},
                                             "menu": {"accelerators": [acc], "devices": [n]}})
        assert plan.status_code in (200, 400), (acc, plan.text)
