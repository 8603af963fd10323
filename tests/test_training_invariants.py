"""Invariants of evaluate_training: breakdowns sum, monotonicity, vectorisation, feasibility as data."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flopwatt import catalog
from flopwatt.perf import feasibility
from flopwatt.perf.plans import Plans
from flopwatt.perf.space import PlanRequest, enumerate_plans
from flopwatt.perf.training import evaluate_training
from flopwatt.specs import TrainingWorkload

DEVICES = 1536


@pytest.fixture(scope="module")
def setup(gpt3, dgx_a100):
    workload = TrainingWorkload(model=gpt3, seq_len=2048, tokens=300e9)
    stack = catalog.get("stacks", "megatron-core")
    plans = enumerate_plans(PlanRequest(devices=DEVICES, global_batch=1536), gpt3, stack, dgx_a100)
    return workload, dgx_a100, stack, plans


def _with_links(system, up=1.0, out=1.0):
    return dataclasses.replace(
        system,
        scale_up=dataclasses.replace(system.scale_up, bandwidth_bytes_per_s=system.scale_up.bandwidth_bytes_per_s * up),
        scale_out=dataclasses.replace(system.scale_out,
                                      bandwidth_bytes_per_s=system.scale_out.bandwidth_bytes_per_s * out))


def test_space_is_large_and_has_feasible_plans(setup):
    workload, system, stack, plans = setup
    result = evaluate_training(workload, system, plans, stack, DEVICES)
    assert len(plans) > 1000
    assert 0 < result.feasible.sum() < len(plans)


def test_time_breakdown_sums_to_step(setup):
    workload, system, stack, plans = setup
    result = evaluate_training(workload, system, plans, stack, DEVICES)
    parts = sum(v for k, v in result.time.items() if k != "time/step")
    np.testing.assert_allclose(parts, result.time["time/step"], rtol=1e-12)
    assert all(np.all(v >= 0) for v in result.time.values())


def test_memory_breakdown_sums_to_total(setup):
    workload, system, stack, plans = setup
    result = evaluate_training(workload, system, plans, stack, DEVICES)
    parts = sum(v for k, v in result.memory.items() if k != "memory/total")
    np.testing.assert_allclose(parts, result.memory["memory/total"], rtol=1e-12)


def test_all_numbers_finite_even_for_infeasible_plans(setup):
    workload, system, stack, plans = setup
    result = evaluate_training(workload, system, plans, stack, DEVICES)
    for values in (*result.time.values(), *result.memory.values(), *result.metrics.values()):
        assert np.all(np.isfinite(values))


def test_utilisation_is_a_fraction(setup):
    workload, system, stack, plans = setup
    result = evaluate_training(workload, system, plans, stack, DEVICES)
    ok = result.feasible
    assert np.all((result.metrics["mfu"][ok] > 0) & (result.metrics["mfu"][ok] < 1))
    assert np.all(result.metrics["hfu"][ok] >= result.metrics["mfu"][ok])


@pytest.mark.parametrize("factor", [1.5, 4.0])
def test_more_scale_out_bandwidth_never_slows_a_plan(setup, factor):
    workload, system, stack, plans = setup
    base = evaluate_training(workload, system, plans, stack, DEVICES).time["time/step"]
    faster = evaluate_training(workload, _with_links(system, out=factor), plans, stack, DEVICES).time["time/step"]
    assert np.all(faster <= base * (1 + 1e-12))
    assert np.any(faster < base)


def test_more_scale_up_bandwidth_never_slows_a_plan(setup):
    workload, system, stack, plans = setup
    base = evaluate_training(workload, system, plans, stack, DEVICES).time["time/step"]
    faster = evaluate_training(workload, _with_links(system, up=2.0), plans, stack, DEVICES).time["time/step"]
    assert np.all(faster <= base * (1 + 1e-12))


def test_batch_of_one_equals_the_same_plan_in_a_batch(setup):
    workload, system, stack, plans = setup
    batch = evaluate_training(workload, system, plans, stack, DEVICES)
    for i in (0, len(plans) // 3, len(plans) - 1):
        single = evaluate_training(workload, system, plans.take(np.array([i])), stack, DEVICES)
        for key, values in single.time.items():
            assert values[0] == batch.time[key][i]
        assert single.reason[0] == batch.reason[i]


@settings(max_examples=40, deadline=None)
@given(gb_factor=st.integers(min_value=1, max_value=8), idx=st.integers(min_value=0, max_value=10**6))
def test_larger_global_batch_never_lowers_mfu(setup, gb_factor, idx):
    workload, system, stack, plans = setup
    i = idx % len(plans)
    one = plans.take(np.array([i]))
    bigger = dataclasses.replace(one, global_batch=one.global_batch * (gb_factor + 1))
    small = evaluate_training(workload, system, one, stack, DEVICES).metrics["mfu"][0]
    large = evaluate_training(workload, system, bigger, stack, DEVICES).metrics["mfu"][0]
    assert large >= small * (1 - 1e-12)


def test_infeasible_plans_are_masked_with_reasons(gpt3, dgx_a100):
    workload = TrainingWorkload(model=gpt3, seq_len=2048)
    stack = catalog.get("stacks", "megatron-2021")
    plans = Plans.build(tp=[64, 8, 8, 8, 1, 8], pp=[1, 12, 7, 12, 1, 12], dp=[24, 16, 16, 16, 1536, 16],
                        micro_batch=[1, 1, 1, 7, 1, 1], global_batch=1536,
                        recompute=["full", "full", "full", "full", "none", "selective"])
    result = evaluate_training(workload, dgx_a100, plans, stack, DEVICES)
    names = [feasibility.reason_name(r) for r in result.reason]
    assert names == ["heads_tp", "ok", "devices", "batch", "oom", "recompute"]


@given(st.integers(min_value=1, max_value=100_000), st.integers(min_value=1, max_value=100_000))
def test_straggler_penalty_grows_with_hosts_and_saturates(a, b):
    """P(a job holds a slow host) = 1 - (1 - f)^H rises with H toward the sourced step slowdown."""
    straggler = catalog.efficiency().straggler
    low, high = sorted((a, b))
    p_low, p_high = straggler.penalty(np.array([low, high]))
    assert 0 < p_low <= p_high <= straggler.step_slowdown


def test_straggler_share_of_the_step_grows_with_the_job(setup):
    """The same plan shape on more nodes waits longer for its slowest host (a scale effect, issue 16 item 4)."""
    workload, system, stack, plans = setup
    result = evaluate_training(workload, system, plans, stack, DEVICES)
    share = result.time["time/straggler"] / (result.time["time/step"] - result.time["time/straggler"])
    hosts = np.ceil(DEVICES / system.devices_per_node)
    np.testing.assert_allclose(share, catalog.efficiency().straggler.penalty(np.array([hosts]))[0], rtol=1e-12)
    small = evaluate_training(workload, system, plans, stack, 64)
    small_share = small.time["time/straggler"] / (small.time["time/step"] - small.time["time/straggler"])
    assert np.all(small_share < share)


MEGASCALE_FLAGS = ("parallel_block", "tp_gemm_overlap", "pp_overlap", "dp_chunk_overlap")


@pytest.fixture(scope="module")
def megascale_case(gpt3, dgx_a100):
    workload = TrainingWorkload(model=gpt3, seq_len=2048, tokens=300e9)
    base = dataclasses.replace(catalog.get("stacks", "megascale"), **dict.fromkeys(MEGASCALE_FLAGS, False))
    plans = enumerate_plans(PlanRequest(devices=1024, global_batch=768, tp=8, pp=8), gpt3, base, dgx_a100)
    return workload, dgx_a100, base, plans


@pytest.mark.parametrize("flag", MEGASCALE_FLAGS)
def test_each_megascale_overlap_never_slows_a_plan(megascale_case, flag):
    """Against the same stack without it (and, for the chunked data-parallel schedule, without any DP overlap:
    it replaces bucketed overlap, whose exposure can be smaller)."""
    workload, system, base, plans = megascale_case
    base = dataclasses.replace(base, dp_overlap=False) if flag == "dp_chunk_overlap" else base
    off = evaluate_training(workload, system, plans, base, 1024)
    on = evaluate_training(workload, system, plans, dataclasses.replace(base, **{flag: True}), 1024)
    assert np.all(on.time["time/step"] <= off.time["time/step"] * (1 + 1e-12))
    assert np.any(on.time["time/step"] < off.time["time/step"])
    np.testing.assert_array_equal(on.time["time/compute"], off.time["time/compute"])


def test_parallel_block_halves_tensor_parallel_time_and_bytes(megascale_case):
    workload, system, base, plans = megascale_case
    serial = evaluate_training(workload, system, plans, base, 1024)
    parallel = evaluate_training(workload, system, plans, dataclasses.replace(base, parallel_block=True,
                                                                              tp_overlap=False), 1024)
    serial_no_overlap = evaluate_training(workload, system, plans, dataclasses.replace(base, tp_overlap=False), 1024)
    np.testing.assert_allclose(parallel.time["time/comm/tp"], serial_no_overlap.time["time/comm/tp"] / 2, rtol=1e-12)
    tp_bytes = serial.traffic["traffic/scale_up_bytes"] - parallel.traffic["traffic/scale_up_bytes"]
    assert np.all(tp_bytes > 0)


def test_chunked_data_parallel_leaves_at_least_the_last_reduce_scatter(megascale_case):
    workload, system, base, plans = megascale_case
    plain = dataclasses.replace(base, dp_overlap=False)
    chunked = dataclasses.replace(base, dp_overlap=False, dp_chunk_overlap=True)
    full = evaluate_training(workload, system, plans, plain, 1024).time["time/comm/dp"]
    exposed = evaluate_training(workload, system, plans, chunked, 1024).time["time/comm/dp"]
    vpp = np.maximum(plans.vpp, 1)
    assert np.all(exposed >= full / (2 * vpp) * (1 - 1e-12))
    assert np.all(exposed <= full * (1 + 1e-12))
