"""The fixed time per layer of a serving forward pass (catalog ``[layer_pass]``, perf/serving.py ``_stage``)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flopwatt import catalog
from flopwatt.catalog.efficiency import EfficiencyCatalog
from flopwatt.errors import InputError
from flopwatt.perf import collectives as coll
from flopwatt.perf.serving import ServingHardware, ServingPlans, evaluate_serving
from flopwatt.serve import _rates

MODEL = catalog.get("models", "llama2-70b")


def _hardware(layer_fixed_s: float) -> ServingHardware:
    system = catalog.get("systems", "dgx-h100")
    up = coll.Tier(system.scale_up, catalog.efficiency().collective_for(system.scale_up.technology))
    return ServingHardware(_rates(system, "fp8"), up, system.accelerator.hbm_bytes, layer_fixed_s=layer_fixed_s)


def _cycle(layer_fixed_s: float, pp: int, batch: float) -> tuple[float, float]:
    plans = ServingPlans(tp=np.array([2.0]), pp=np.array([float(pp)]), batch=np.array([batch]))
    metrics = evaluate_serving(MODEL, _hardware(layer_fixed_s), 8, plans, lengths=(500.0, 200.0),
                               element_bytes=(1.0, 1.0)).metrics
    return float(metrics["tpot_s"][0]), float(metrics["layer_fixed_s"][0])


@settings(max_examples=25, deadline=None)
@given(fixed_us=st.floats(1.0, 200.0), pp=st.sampled_from([1, 2, 4]), batch=st.floats(1.0, 512.0))
def test_each_layer_adds_its_fixed_time_once_per_token(fixed_us, pp, batch):
    """A sequence gains a token once every layer of every stage has run its micro-batch: the fixed time adds
    ``layers x fixed`` to the time per output token, whatever the batch and the pipeline split."""
    fixed = fixed_us * 1e-6
    base, none = _cycle(0.0, pp, batch)
    with_fixed, part = _cycle(fixed, pp, batch)
    assert none == 0.0
    assert part == pytest.approx(MODEL.layers * fixed, rel=1e-9)
    assert with_fixed - base == pytest.approx(MODEL.layers * fixed, rel=1e-6)


def test_shipped_fixed_time_is_sourced_and_small():
    eff = catalog.efficiency()
    entry = catalog.read_toml("efficiency.toml", "catalog efficiency.toml")["layer_pass"]
    assert 0.0 < eff.layer_pass_for("NVIDIA").fixed_s < 1e-3 and eff.layer_pass_for("NVIDIA").borrowed_from is None
    assert eff.layer_pass_for("AMD").borrowed_from == "NVIDIA"
    assert "FITTED" in entry["NVIDIA"]["source"] and entry["NVIDIA"]["retrieved"]
    assert eff.layer_pass_for("Groq") is None  # a vendor without a figure gets none


def test_a_vendor_without_a_figure_says_so():
    from flopwatt import api
    from flopwatt.api.requests import ServeRequest

    result = api.serve(ServeRequest(model="llama3.1-8b", accelerator="groq-lpu-v1", devices=576, input_len=500,
                                    output_len=200))
    assert any("no fixed time per layer known for Groq" in line for line in result.assumptions)
    amd = api.serve(ServeRequest(model="llama3.1-8b", accelerator="mi300x", devices=8, input_len=500, output_len=200))
    assert any("layer_pass.AMD, ASSUMED: the figure fitted for NVIDIA" in line for line in amd.assumptions)


@pytest.mark.parametrize("bad", [-1e-6, 1.0, "60us"])
def test_bad_fixed_time_names_the_field(bad):
    data = catalog.read_toml("efficiency.toml", "catalog efficiency.toml")
    data = {**data, "layer_pass": {"NVIDIA": {**data["layer_pass"]["NVIDIA"], "fixed_s": bad}}}
    with pytest.raises(InputError, match="layer_pass.NVIDIA.fixed_s"):
        EfficiencyCatalog.from_dict(data)


def test_serving_reads_the_catalog_figure():
    from flopwatt.serve import ServeRequest, _setup

    request = ServeRequest(model=MODEL, system=catalog.get("systems", "dgx-h100"), devices=8, input_len=500.0,
                           output_len=200.0, precision="fp8")
    hardware, _, _ = _setup(request)
    assert hardware.layer_fixed_s == catalog.efficiency().layer_pass_for("NVIDIA").fixed_s
