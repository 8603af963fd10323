"""Tensor-parallel all-reduce on AMD's xGMI point-to-point mesh (flopwatt.perf.serving_step.group_tier).

An 8-GPU MI300X/MI325X platform joins every GPU to each of its 7 peers by one link (64 GB/s per direction;
the catalog's scale-up bandwidth is the 7-link aggregate). A tensor-parallel group of p ranks reaches only
its p - 1 peers, so a one-shot all-reduce costs n / link whatever p; a switch (NVLink) gives any group the
whole bandwidth.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flopwatt import catalog
from flopwatt.perf import collectives as coll
from flopwatt.perf import serving_step as step
from flopwatt.serve import ServeRequest, _setup


def _hardware(accelerator: str):
    req = ServeRequest(model=catalog.get("models", "llama3.1-70b"), system=catalog.system_for(accelerator),
                       devices=8, input_len=1000.0, output_len=200.0, precision="bf16")
    hw, _, _ = _setup(req)
    return req.system, hw


def test_mi300x_platform_is_a_point_to_point_mesh_of_seven_links():
    system, hw = _hardware("mi300x")
    assert hw.scale_up.link.technology.startswith(step.POINT_TO_POINT)
    assert system.scale_up_domain_devices == hw.domain_devices == 8
    assert hw.scale_up.link.bandwidth_bytes_per_s == pytest.approx(7 * 64e9)  # 7 links x 64 GB/s per direction


@settings(max_examples=40, deadline=None)
@given(p=st.integers(2, 8), n=st.floats(1e4, 1e9))
def test_a_group_reaches_only_its_own_links_and_one_shot_costs_one_link(p, n):
    _, hw = _hardware("mi300x")
    up, tp, size = hw.scale_up, np.array([float(p)]), np.array([n])
    tier = step.group_tier(up, tp, hw.domain_devices)
    assert tier.bus_bandwidth(size)[0] == pytest.approx(up.bus_bandwidth(size) * (p - 1) / 7)
    one_link = up.link.bandwidth_bytes_per_s / 7 * up.table(size)[0]
    one_shot = tier.latency_s + (p - 1) * n / tier.bus_bandwidth(size)[0]
    assert one_shot == pytest.approx(up.latency_s + n / one_link)
    assert coll.all_reduce_serving(tp, size, tier)[0] <= one_shot * (1 + 1e-12)
    assert coll.all_reduce_serving(tp, size, tier)[0] >= coll.all_reduce_serving(tp, size, up)[0]


def test_the_whole_mesh_and_a_switch_are_unchanged():
    _, amd = _hardware("mi300x")
    assert step.group_tier(amd.scale_up, np.array([8.0]), 8).bus_bandwidth(np.array([1e8]))[0] == pytest.approx(
        amd.scale_up.bus_bandwidth(np.array([1e8]))[0])
    _, nv = _hardware("h100-sxm5-80gb")
    assert step.group_tier(nv.scale_up, np.array([2.0]), nv.domain_devices) is nv.scale_up
    assert step.group_tier(amd.scale_up, np.array([2.0]), None) is amd.scale_up  # no domain given: a switch


def test_tp2_on_xgmi_pays_more_all_reduce_time_than_the_aggregate_suggested():
    """llama3.1-70b at tp 2 on an MI300X platform: each all-reduce runs over one link, not seven."""
    model = catalog.get("models", "llama3.1-70b")
    _, hw = _hardware("mi300x")
    tokens, tp = np.array([64.0]), np.array([2.0])
    assert (step.tp_comm_time(model, tokens, tp, hw.scale_up, 8)[0]
            > 3 * step.tp_comm_time(model, tokens, tp, hw.scale_up, None)[0])


@pytest.mark.parametrize(("accelerator", "tp", "listed"), [("mi300x", 2, True), ("mi300x", 8, False),
                                                            ("h100-sxm5-80gb", 2, False)])
def test_a_result_lists_the_mesh_rule_when_it_applies(accelerator, tp, listed):
    """The xGMI group rule is a stated rule: a serve result on a point-to-point mesh with a partial group says so."""
    from flopwatt import api
    result = api.serve(api.ServeRequest(model="llama3.1-70b", accelerator=accelerator, devices=8, tp=tp,
                                        input_len=1024, output_len=256))
    assert result.feasible and result.plan["tp"] == tp
    assert any("point-to-point mesh" in line for line in result.assumptions) == listed
