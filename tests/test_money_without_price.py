"""A system without a published price keeps the money lines that need no price (energy, facility).

Issue #18: an H800 run printed every money line, electricity included, as unknown.
"""
import pytest

from flopwatt import api, catalog
from flopwatt.api.requests import ServeRequest, TrainRequest

UNPRICED = "h800-sxm5-80gb"


def _unpriced_system() -> None:
    system = catalog.get("systems", "hgx-h800")
    assert system.node_price_usd is None and system.accelerator.price_usd is None, "pick another unpriced part"


def test_training_keeps_energy_and_facility_money():
    _unpriced_system()
    result = api.train(TrainRequest(model="llama3-8b", accelerator=UNPRICED, devices=64, tokens=1e9))
    fp = result.footprint
    kwh = fp["energy/facility_j"] / 3.6e6
    site = catalog.get("sites", result.inputs["site"])
    assert fp["money/energy_usd"] == pytest.approx(kwh * site.electricity_usd_per_kwh)
    assert fp["money/facility_depreciation_usd"] > 0
    for key in ("money/run_usd", "money/capex_usd", "money/it_depreciation_usd", "money/tco_usd",
                "money/usd_per_million_tokens"):
        assert key not in fp
    assert any("no published price" in line for line in result.unknown)


def test_serving_keeps_the_energy_dollars_per_token():
    _unpriced_system()
    result = api.serve(ServeRequest(model="llama3.1-8b", accelerator=UNPRICED, devices=8, input_len=1000,
                                    output_len=200))
    m = result.metrics
    assert m["usd_per_million_output_tokens"] is None
    assert m["energy_usd_per_million_output_tokens"] > 0
    site = catalog.get("sites", result.inputs["site"])
    joules_per_million = m["joules_per_output_token"] * 1e6
    assert m["energy_usd_per_million_output_tokens"] == pytest.approx(
        joules_per_million / 3.6e6 * site.electricity_usd_per_kwh, rel=1e-9)
