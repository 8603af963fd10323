"""Measured serving kernels: FlashMLA decode attention and DeepEP's low-latency dispatch/combine."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flopwatt import catalog
from flopwatt.perf import collectives as coll
from flopwatt.perf import serving_ep
from flopwatt.perf import serving_kernels as kernels
from flopwatt.perf import serving_step as step
from flopwatt.perf.lengths import Lengths
from flopwatt.perf.serving import ServingHardware, ServingPlans, evaluate_serving
from flopwatt.serve import _rates

V3 = "deepseek-v3"


def _tiers() -> tuple[coll.Tier, coll.Tier]:
    system, eff = catalog.system_for("h800-sxm5-80gb"), catalog.efficiency()
    return (coll.Tier(system.scale_up, eff.collective_for(system.scale_up.technology)),
            coll.Tier(system.scale_out, eff.collective_for(system.scale_out.technology)))


def _h800_rates(norm: float | None = None):
    return dataclasses.replace(_rates(catalog.system_for("h800-sxm5-80gb"), "fp8"), roofline_norm=norm)


def test_flashmla_fractions_are_the_readme_rates_over_the_h800_peaks():
    """660 and 410 TFLOP/s of the H800's 989.4 dense BF16 peak, 3000 GB/s of its 3.35 TB/s HBM."""
    mla = kernels.mla_decode_kernel()
    assert mla.compute_fraction_bf16_kv == pytest.approx(660 / 989.4)
    assert mla.compute_fraction_fp8_kv == pytest.approx(410 / 989.4)
    assert mla.memory_fraction == pytest.approx(3000 / 3350)
    assert mla.compute_fraction(1.0) == mla.compute_fraction_fp8_kv
    assert mla.compute_fraction(2.0) == mla.compute_fraction_bf16_kv


def test_mla_decode_attention_runs_at_flashmla_rates_in_both_limits():
    """Sharp roofline: a large batch at a long context is compute-bound at 660 TFLOP/s (BF16 cache) or
    410 TFLOP/s (FP8 cache, dequantised first); one sequence is bound by reading its latent at 3000 GB/s."""
    model, rates = catalog.get("models", V3), _h800_rates()
    latent = 512 + 64
    seqs, ctx, tp = np.array([256.0]), np.array([4000.0]), np.array([1.0])
    flops = 2.0 * 256 * 4000 * 128 * (2 * 512 + 64) * model.layers
    for kv_bytes, tflops in ((2.0, 660e12), (1.0, 410e12)):
        t = step.decode_attention_time(model, rates, seqs, ctx, np.array([latent * kv_bytes]), tp)[0]
        assert t == pytest.approx(flops / tflops)
    # one sequence over tp 8 (16 heads a rank): 2 x 16 x 1088 FLOPs per 1152 B read = 30 FLOP/B, far below the
    # 660e12 / 3000e9 = 220 FLOP/B ridge: bound by the read
    one = step.decode_attention_time(model, rates, np.array([1.0]), ctx, np.array([latent * 2.0]), np.array([8.0]))[0]
    assert one == pytest.approx(4000 * latent * 2.0 * model.layers / 3000e9)


@settings(max_examples=30, deadline=None)
@given(ctx=st.floats(16, 2e5), more=st.floats(0, 1e5), seqs=st.floats(1, 2048), kv_bytes=st.sampled_from([1.0, 2.0]),
       norm=st.sampled_from([None, 2.25]))
def test_mla_decode_attention_grows_with_the_kv_length(ctx, more, seqs, kv_bytes, norm):
    model, rates = catalog.get("models", V3), _h800_rates(norm)
    kv = np.array([576 * kv_bytes])
    a, b = (step.decode_attention_time(model, rates, np.array([seqs]), np.array([c]), kv, np.array([1.0]))[0]
            for c in (ctx, ctx + more))
    assert 0 < a <= b * (1 + 1e-12)


def test_deepep_fixed_cost_is_what_the_table_leaves_after_the_bytes():
    """Hand count of the EP 8 dispatch row: 128 x 8 x 7168 x 1.03125 B, 7/8 of it over 160 GB/s NVLink, 77 us
    measured; the median residual is positive and below every measured latency."""
    sent = 128 * 8 * 7168 * 1.03125
    assert kernels.deepep_call_residuals_s("dispatch")[0] == pytest.approx(77e-6 - sent * 7 / 8 / 160e9)
    dispatch, combine = kernels.deepep_fixed_latency_s()
    assert 0 < dispatch < 77e-6 and 0 < combine < 114e-6
    assert all(r > 0 for kind in ("dispatch", "combine") for r in kernels.deepep_call_residuals_s(kind))


@settings(max_examples=30, deadline=None)
@given(latency=st.floats(0, 1e-3), more=st.floats(0, 1e-3), nbytes=st.floats(0, 1e9), ep=st.sampled_from([2, 8, 64]))
def test_all_to_all_time_grows_with_the_kernel_latency(latency, more, nbytes, ep):
    tiers = _tiers()
    a, b = (serving_ep.concurrent_all_to_all(np.array([ep]), np.array([8]), np.array([nbytes]), *tiers, lat)[0]
            for lat in (latency, latency + more))
    assert a <= b
    if nbytes > 0:
        assert a >= latency


def _serving_hw() -> ServingHardware:
    system = catalog.system_for("h800-sxm5-80gb")
    up, out = _tiers()
    return ServingHardware(rates=_h800_rates(2.25), scale_up=up, scale_out=out, memory_bytes=80e9,
                           domain_devices=system.scale_up_domain_devices)


@settings(max_examples=15, deadline=None)
@given(out=st.floats(64, 8192), more=st.floats(0, 8192), batch=st.sampled_from([64, 512, 2048]),
       ep=st.sampled_from([8, 32]))
def test_step_time_grows_with_the_kv_length_for_expert_parallel_mla(out, more, batch, ep):
    """TPOT of a DeepSeek-V3 decode pool (prompts prefilled elsewhere) served with attention DP x EP never falls
    as the generated length, and so the KV a decode reads, grows. (Colocated, a longer output also means fewer
    prompt tokens per iteration, so TPOT may fall.)"""
    model = catalog.get("models", V3)
    plans = ServingPlans(tp=np.array([1]), pp=np.array([1]), batch=np.array([batch]), ep=np.array([ep]))
    a, b = (evaluate_serving(model, _serving_hw(), 256, plans, lengths=Lengths(1000, o, prefilled=True),
                             element_bytes=(1.0, 1.0)).metrics["tpot_s"][0] for o in (out, out + more))
    assert a <= b * (1 + 1e-12)


def test_ep_layer_at_small_batch_is_bound_by_the_kernels_fixed_cost():
    """One token per attention group over EP 64: the All-to-Alls of a step cost at least the fixed cost of a
    dispatch and a combine per MoE layer (58 for DeepSeek-V3), in seconds."""
    model = catalog.get("models", V3)
    plans = ServingPlans(tp=np.array([1]), pp=np.array([1]), batch=np.array([64]), ep=np.array([64]))
    r = evaluate_serving(model, _serving_hw(), 64, plans, lengths=(1000, 1000), element_bytes=(1.0, 1.0))
    floor = model.moe_layers * sum(kernels.deepep_fixed_latency_s())
    assert floor == pytest.approx(58 * 96.8e-6, rel=0.01)
    assert floor <= r.metrics["ep_all_to_all_s"][0] < 1.5 * floor


def test_serving_results_say_where_measured_kernel_rates_are_carried_over():
    """An MLA model's result names FlashMLA's measurement device; an expert-parallel plan names DeepEP's fixed cost;
    a dense model's result names neither."""
    from flopwatt import api
    from flopwatt.api.requests import ServeRequest

    body = dict(accelerator="mi300x", devices=8, input_len=3200, output_len=800, precision="fp8")
    mla = api.serve(ServeRequest(model="deepseek-r1", ep=8, **body))
    assert mla.plan["ep"] == 8
    assert any("FlashMLA's rates measured on h800-sxm5-80gb" in line and "ASSUMED for mi300x" in line
               for line in mla.assumptions)
    assert any("expert dispatch / combine: a fixed" in line for line in mla.assumptions)
    dense = api.serve(ServeRequest(model="llama3.1-8b", **body))
    assert not any("FlashMLA" in line or "expert dispatch" in line for line in dense.assumptions)
