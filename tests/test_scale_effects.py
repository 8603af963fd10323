"""Scale effects (issue #16): the wait for the slowest rank and the data-parallel sync bytes of a sharded optimizer."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flopwatt import catalog
from flopwatt.errors import InputError
from flopwatt.perf import data_parallel, overlap
from flopwatt.perf.space import PlanRequest, enumerate_plans
from flopwatt.perf.training import evaluate_training
from flopwatt.specs import TrainingWorkload

DEVICES = 512


def _exact_harmonic(n: int) -> float:
    return math.fsum(1.0 / k for k in range(1, n + 1))


@pytest.mark.parametrize("replicas", [1, 2, 3, 10, 192, 1000])
def test_one_rank_per_replica_is_the_harmonic_number(replicas):
    """R = 1: the slowest of n exponentials, tau x H_n (the former all-ranks model as a special case)."""
    assert data_parallel.expected_max_of_sums(1, replicas) == pytest.approx(_exact_harmonic(replicas), rel=1e-4)


@pytest.mark.parametrize("ranks", [1, 8, 64, 280, 4096])
def test_one_replica_waits_for_the_mean_of_its_sum(ranks):
    assert data_parallel.expected_max_of_sums(ranks, 1) == pytest.approx(ranks)


@pytest.mark.parametrize(("ranks", "replicas"), [(8, 4), (64, 16), (280, 8), (512, 48)])
def test_expected_max_matches_monte_carlo(ranks, replicas):
    """The integral against 4,000 sampled steps: the max over replicas of Gamma(R, 1) sums."""
    rng = np.random.default_rng(16)
    sums = rng.gamma(ranks, 1.0, size=(4000, replicas))
    sampled = sums.max(axis=1)
    stderr = sampled.std() / np.sqrt(sampled.size)
    assert data_parallel.expected_max_of_sums(ranks, replicas) == pytest.approx(sampled.mean(), abs=5 * stderr)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 5000), st.integers(1, 20_000), st.integers(1, 20_000))
def test_expected_max_grows_with_replicas_within_the_sub_gamma_bound(ranks, a, b):
    """Nondecreasing in the number of replicas; between the mean R and the sub-gamma maximal inequality
    R + sqrt(2 R ln n) + ln n (Boucheron, Lugosi, Massart 2013, Corollary 2.6, variance R, scale 1)."""
    low, high = sorted((a, b))
    e_low, e_high = (data_parallel.expected_max_of_sums(ranks, n) for n in (low, high))
    assert e_low <= e_high + 1e-6 * ranks
    for n, e in ((low, e_low), (high, e_high)):
        assert ranks - 1e-6 * ranks <= e <= ranks + math.sqrt(2 * ranks * math.log(n)) + math.log(n) + 1e-6 * ranks


def test_no_jitter_where_the_stack_has_none(setup):
    assert np.all(data_parallel.rank_jitter_time(None, setup[3]) == 0.0)


@pytest.fixture(scope="module")
def setup(gpt3, dgx_a100):
    stack = catalog.get("stacks", "megatron-lm-2024")
    plans = enumerate_plans(PlanRequest(devices=DEVICES, global_batch=512, tp=8, pp=8), gpt3, stack, dgx_a100)
    workload = TrainingWorkload(model=gpt3, seq_len=2048, tokens=300e9, precision="bf16")
    return workload, dgx_a100, stack, plans


def _run(setup, **changes):
    workload, system, stack, plans = setup
    return evaluate_training(workload, system, plans, dataclasses.replace(stack, **changes), DEVICES)


def test_jitter_adds_tau_times_the_slowest_replica_to_every_plan(setup):
    without, with_jitter = _run(setup, rank_jitter_mean_s=None), _run(setup, rank_jitter_mean_s=0.01)
    assert "time/jitter" not in without.time
    plans = setup[3]
    expected = [0.01 * data_parallel.expected_max_of_sums(int(t * p * c), int(d))
                for t, p, c, d in zip(plans.tp, plans.pp, plans.cp, plans.dp, strict=True)]
    np.testing.assert_allclose(with_jitter.time["time/jitter"], expected, rtol=1e-9)
    np.testing.assert_allclose(with_jitter.time["time/step"] - without.time["time/step"], expected, rtol=1e-9)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 5), st.integers(0, 5))
def test_the_step_never_shrinks_as_replicas_are_added_at_fixed_per_rank_work(gpt3, dgx_a100, a, b):
    """Weak scaling: the same plan per replica (tp 8, pp 8, 16 micro-batches of 1) on 2^k replicas; each added
    replica can only add to the wait (jitter, slowest host) and to the data-parallel collectives."""
    stack = catalog.get("stacks", "megatron-lm-2024")
    workload = TrainingWorkload(model=gpt3, seq_len=2048, tokens=300e9, precision="bf16")
    steps = []
    for k in sorted((a, b)):
        dp = 2**k
        request = PlanRequest(devices=64 * dp, global_batch=16 * dp, tp=8, pp=8, dp=dp, vpp=6, micro_batch=1,
                              zero_stage=1, recompute="none", sequence_parallel=True)
        plans = enumerate_plans(request, gpt3, stack, dgx_a100)
        steps.append(evaluate_training(workload, dgx_a100, plans, stack, 64 * dp).time["time/step"][0])
    assert steps[0] <= steps[1] * (1 + 1e-12)


def test_sharded_optimizer_gathers_16_bit_parameters_after_an_fp32_reduce_scatter(gpt3, dgx_a100):
    """Megatron's distributed optimizer: ReduceScatter 4 B gradients + AllGather 2 B parameters = 6 B per parameter;
    DDP (ZeRO-0): AllReduce of 4 B gradients = 8 B. Without pipeline stages and with TP inside the node the
    scale-out bytes are the data-parallel ones only, so matching plans move them in the ratio 6 : 8."""
    stack = catalog.get("stacks", "megatron-lm-2024")
    plans = enumerate_plans(PlanRequest(devices=DEVICES, global_batch=512, tp=8, pp=1), gpt3, stack, dgx_a100)
    workload = TrainingWorkload(model=gpt3, seq_len=2048, tokens=300e9, precision="bf16")
    res = evaluate_training(workload, dgx_a100, plans, stack, DEVICES)
    out = res.traffic["traffic/scale_out_bytes"]
    pairs = 0
    for i in np.flatnonzero(plans.zero_stage == 1):
        match = plans.zero_stage == 0
        for name in ("dp", "micro_batch", "recompute", "recompute_layers", "sequence_parallel"):
            match &= getattr(plans, name) == getattr(plans, name)[i]
        for j in np.flatnonzero(match):
            assert out[i] / out[j] == pytest.approx(6 / 8, rel=1e-9)
            pairs += 1
    assert pairs > 0


def test_chunked_overlap_leaves_the_last_chunks_scatter_exposed():
    """MegaScale Sec. 3.2: with nothing to hide behind, 1/(2 vpp) of the (symmetric) traffic stays exposed."""
    rates = catalog_rates()
    half = np.array([2.0])
    exposed = overlap.dp_chunked(rates, half, half, np.array([4]), np.array([1e9]), np.array([1e9]))
    assert exposed[0] >= 4.0 / (2 * 4) - 1e-12
    bare = overlap.dp_chunked(rates, half, half, np.array([4]), np.array([0.0]), np.array([0.0]))
    assert bare[0] == pytest.approx(4.0)


def catalog_rates():
    from flopwatt.perf.compute import DeviceRates

    eff = catalog.efficiency()
    acc = catalog.get("accelerators", "a100-sxm4-80gb")
    return DeviceRates(peak_flops_per_s=acc.peak("bf16"), linear_peak_flops_per_s=None, linear_peak_fraction=1.0,
                       hbm_bandwidth_bytes_per_s=acc.streaming_bandwidth_bytes_per_s,
                       gemm_efficiency=eff.gemm_for(acc.id), memory_efficiency=eff.memory_for(acc.id),
                       act_bytes=2.0, overlap_slowdown=eff.overlap_for(acc.id), roofline_norm=eff.roofline_norm)


@pytest.mark.parametrize("value", [-0.1, True, "0.1"])
def test_jitter_must_be_seconds(value):
    stack = catalog.get("stacks", "megatron-lm-2024")
    with pytest.raises(InputError, match="rank_jitter_mean_s"):
        dataclasses.replace(stack, rank_jitter_mean_s=value)


def test_only_the_stack_the_source_describes_has_jitter():
    with_jitter = {k for k, s in catalog.stacks().items() if s.rank_jitter_mean_s is not None}
    assert with_jitter == {"megatron-lm-2024"}
    assert "calibrate_jitter" in catalog.get("stacks", "megatron-lm-2024").notes
