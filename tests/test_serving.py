"""Serving model invariants: KV bytes by hand, bandwidth monotonicity, SLO floors, bad input."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from flopwatt import catalog
from flopwatt.errors import InputError
from flopwatt.perf.compute import DeviceRates
from flopwatt.perf.serving import kv_bytes_per_token
from flopwatt.serve import ServeRequest, estimate_serving


def test_kv_bytes_hand_count_gqa_and_mla():
    llama = catalog.get("models", "llama2-70b")  # 80 layers, 8 KV heads of 128
    assert kv_bytes_per_token(llama, 2.0) == 2 * 80 * 8 * 128 * 2
    assert kv_bytes_per_token(llama, 1.0) == 163_840
    deepseek = catalog.get("models", "deepseek-v3")  # latent 512 + RoPE key 64 per layer
    assert kv_bytes_per_token(deepseek, 2.0) == (512 + 64) * 61 * 2


def _request(system, **kw):
    base = {"model": catalog.get("models", "llama2-70b"), "system": system, "devices": 8, "input_len": 800,
            "output_len": 300, "precision": "fp8"}
    return ServeRequest(**{**base, **kw})


@pytest.mark.parametrize("factor", [1.25, 2.0])
def test_more_hbm_bandwidth_never_lowers_throughput(factor):
    system = catalog.get("systems", "dgx-h100")
    faster_acc = dataclasses.replace(system.accelerator,
                                     hbm_bandwidth_bytes_per_s=system.accelerator.hbm_bandwidth_bytes_per_s * factor)
    faster = dataclasses.replace(system, accelerator=faster_acc)
    for tpot in (None, 0.05):
        base = estimate_serving(_request(system, tpot_slo_s=tpot))["metrics"]["output_tokens_per_s"]
        more = estimate_serving(_request(faster, tpot_slo_s=tpot))["metrics"]["output_tokens_per_s"]
        assert more >= base * (1 - 1e-12)


def test_tighter_tpot_slo_never_raises_throughput():
    system = catalog.get("systems", "dgx-h100")
    rates = [estimate_serving(_request(system, tpot_slo_s=s))["metrics"]["output_tokens_per_s"]
             for s in (None, 0.1, 0.05, 0.03)]
    assert all(a >= b for a, b in zip(rates, rates[1:], strict=False))


def test_slo_below_the_physical_floor_says_so():
    with pytest.raises(InputError, match="fastest TPOT possible"):
        estimate_serving(_request(catalog.get("systems", "dgx-h100"), tpot_slo_s=1e-4))


def test_zero_output_is_an_input_error():
    with pytest.raises(InputError, match="output-len"):
        _request(catalog.get("systems", "dgx-h100"), output_len=0)


def test_kv_memory_bounds_the_batch():
    system = catalog.get("systems", "dgx-h100")
    out = estimate_serving(_request(system))
    assert out["metrics"]["memory_bytes"] <= 0.9 * system.accelerator.hbm_bytes
    assert np.isfinite(out["metrics"]["ttft_s"]) and out["metrics"]["tpot_s"] > 0


def test_longer_context_never_shortens_a_decode_step():
    """Decode attention streams each sequence's KV cache: at a fixed plan, more context = slower TPOT."""
    from flopwatt.perf import collectives as coll
    from flopwatt.perf.serving import ServingHardware, ServingPlans, evaluate_serving
    from flopwatt.serve import _rates

    system = catalog.get("systems", "dgx-h100")
    up = coll.Tier(system.scale_up, catalog.efficiency().collective_for(system.scale_up.technology))
    plans = ServingPlans(tp=np.array([1, 2, 8]), pp=np.ones(3), batch=np.array([64, 256, 512]))
    hardware = ServingHardware(_rates(system, "fp8"), up, system.accelerator.hbm_bytes)
    tpots = [evaluate_serving(catalog.get("models", "llama2-70b"), hardware, 8, plans, lengths=(inp, 300),
                              element_bytes=(1.0, 1.0)).metrics["tpot_s"]
             for inp in (100, 1000, 4000)]
    assert np.all(np.diff(np.stack(tpots), axis=0) > 0)


def test_serve_compare_lists_each_accelerator_and_rejects_mismatched_devices(capsys):
    from flopwatt.cli import main, run_command

    payload, text = run_command(["serve", "compare", "--accelerator", "h100-sxm5-80gb,h200-sxm-141gb",
                                 "--input-len", "1024", "--output-len", "256", "--tpot-slo", "0.05"])
    assert [p["inputs"]["accelerator"] for p in payload] == ["h100-sxm5-80gb", "h200-sxm-141gb"]
    assert all(p["metrics"]["tpot_s"] <= 0.05 for p in payload) and "h200-sxm-141gb" in text
    assert main(["serve", "compare", "--accelerator", "h100-sxm5-80gb,mi300x", "--devices", "8,4,2",
                 "--input-len", "8", "--output-len", "8"]) == 2
    assert "--devices" in capsys.readouterr().err


def test_cost_per_token_follows_the_electricity_price():
    from flopwatt.footprint import default_setting

    system = catalog.get("systems", "dgx-h100")
    out = estimate_serving(_request(system), default_setting())
    cheap = dataclasses.replace(default_setting(), site=dataclasses.replace(default_setting().site,
                                                                            electricity_usd_per_kwh=0.01))
    assert estimate_serving(_request(system), cheap)["metrics"]["usd_per_million_output_tokens"] < \
        out["metrics"]["usd_per_million_output_tokens"]
    m = out["metrics"]
    assert m["joules_per_output_token"] == pytest.approx(m["facility_power_w"] / m["output_tokens_per_s"])


def test_sram_only_chips_pipeline_the_weights_over_many_chips():
    groq = catalog.system_for("groq-lpu-v1")
    out = estimate_serving(_request(groq, devices=576))
    plan = out["plan"]
    chips = plan["tp"] * plan["pp"]
    weights = catalog.get("models", "llama2-70b").total_params() * 1.0  # fp8
    assert plan["pp"] > 1 and chips * groq.accelerator.sram_bytes > weights
    with pytest.raises(InputError, match="oom"):
        estimate_serving(_request(groq, devices=64))  # 64 x 230 MB cannot hold 70 GB of weights


def test_low_precision_fraction_scales_compute_bound_gemms_only():
    """A compute-bound linear GEMM at a sustained fraction r of the FP8 peak takes 1/r as long (the
    efficiency table is flat at that size); a memory-bound one is unchanged; 16-bit GEMMs ignore it."""
    acc, eff = catalog.get("accelerators", "h100-sxm5-80gb"), catalog.efficiency()
    full = DeviceRates(peak_flops_per_s=acc.peak("bf16"), linear_peak_flops_per_s=acc.peak("fp8"),
                       hbm_bandwidth_bytes_per_s=acc.hbm_bandwidth_bytes_per_s,
                       gemm_efficiency=eff.gemm_for(acc.id), memory_efficiency=eff.memory_for(acc.id),
                       act_bytes=2.0, overlap_slowdown=0.0)
    slow = dataclasses.replace(full, linear_peak_fraction=0.8)
    big, small_bytes = np.array([1e14]), np.array([1.0])
    assert slow.gemm_time(big, small_bytes, linear=True)[0] == pytest.approx(
        full.gemm_time(big, small_bytes, linear=True)[0] / 0.8, rel=1e-3)
    weight_stream = np.array([1e6]), np.array([1e9])  # 1 MFLOP over 1 GB: memory-bound
    assert slow.gemm_time(*weight_stream, linear=True)[0] == full.gemm_time(*weight_stream, linear=True)[0]
    assert slow.gemm_time(big, small_bytes)[0] == full.gemm_time(big, small_bytes)[0]


def test_smooth_roofline_lies_between_the_max_and_the_sum_and_meets_the_max_far_from_the_ridge():
    acc, eff = catalog.get("accelerators", "h100-sxm5-80gb"), catalog.efficiency()
    smooth = DeviceRates(peak_flops_per_s=acc.peak("bf16"), hbm_bandwidth_bytes_per_s=acc.hbm_bandwidth_bytes_per_s,
                         gemm_efficiency=eff.gemm_for(acc.id), memory_efficiency=eff.memory_for(acc.id),
                         act_bytes=2.0, overlap_slowdown=0.0, roofline_norm=eff.roofline_norm)
    sharp = dataclasses.replace(smooth, roofline_norm=None)
    flops = np.array([1e12, 1e12, 1e12])
    nbytes = np.array([1e7, 5e9, 1e11])  # compute-bound, at the ridge, memory-bound
    s, m = smooth.gemm_time(flops, nbytes), sharp.gemm_time(flops, nbytes)
    c, mem = sharp.gemm_time(flops, np.zeros(3)), sharp.memory_time(nbytes)
    assert np.all(s >= m) and np.all(s <= c + mem)
    assert s[0] == pytest.approx(m[0], rel=1e-3) and s[2] == pytest.approx(m[2], rel=1e-3)
    assert s[1] > 1.25 * m[1]


def test_serving_all_reduce_is_one_shot_for_small_messages_on_a_switch_and_the_ring_elsewhere():
    from flopwatt.perf import collectives as coll

    eff = catalog.efficiency()
    nvl = catalog.system_for("h100-sxm5-80gb").scale_up
    ici = catalog.system_for("tpu-v5p").scale_up
    up, torus = (coll.Tier(link, eff.collective_for(link.technology)) for link in (nvl, ici))
    p, small, large = np.array([8.0, 8.0]), np.array([16e3, 16e3]), np.array([256e6, 256e6])
    one_shot = nvl.latency_s + 7 * 16e3 / up.bus_bandwidth(small)[0]
    assert coll.all_reduce_serving(p, small, up)[0] == pytest.approx(one_shot)
    assert coll.all_reduce_serving(p, small, up)[0] < coll.all_reduce(p, small, up)[0] / 5
    assert coll.all_reduce_serving(p, large, up)[0] == coll.all_reduce(p, large, up)[0]
    assert coll.all_reduce_serving(p, small, torus)[0] == coll.all_reduce(p, small, torus)[0]


def test_serving_all_reduce_takes_the_measured_nccl_curve_where_it_is_faster():
    """H100's NVLink4 tier carries Azure's measured NVLS all-reduce busbw: at 8 MB (172 GB/s busbw) it beats
    the ring's 2 (p - 1) latency steps; the result never exceeds any candidate."""
    from flopwatt.perf import collectives as coll
    from flopwatt.serve import _setup

    req = ServeRequest(model=catalog.get("models", "llama2-70b"), system=catalog.system_for("h100-sxm5-80gb"),
                       devices=8, input_len=100, output_len=100)
    hw, _, _ = _setup(req)
    up = hw.scale_up
    assert up.measured_all_reduce is not None
    p, n = np.array([8.0]), np.array([8 * 2 ** 20])
    nccl = 2 * 7 / 8 * n[0] / up.measured_all_reduce(n)[0]
    got = coll.all_reduce_serving(p, n, up)[0]
    assert got == pytest.approx(nccl) and got < coll.all_reduce(p, n, up)[0]
    assert catalog.efficiency().all_reduce_measured_for("ici-v5p") is None


def test_mla_decode_attends_over_the_latent_with_absorbed_heads():
    """DeepSeek-V3 decode: each of 128 heads multiplies a 576-wide key and a 512-wide value per cached token
    (FlashMLA's (d + dv) count), 3.4x the decompressed-head count a prompt is attended with; GQA models keep
    one count for both."""
    from flopwatt.perf import serving_step as step

    v3 = catalog.get("models", "deepseek-v3")
    assert step._decode_attention_width(v3) == 128 * (512 + 64 + 512)
    assert step._attention_width(v3) == 128 * (128 + 64 + 128)
    llama = catalog.get("models", "llama3.1-70b")
    assert step._decode_attention_width(llama) == step._attention_width(llama)
    eff = catalog.efficiency()
    h100 = "h100-sxm5-80gb"
    rates = DeviceRates(peak_flops_per_s=1e15, hbm_bandwidth_bytes_per_s=3e12, act_bytes=2.0, overlap_slowdown=0.0,
                        gemm_efficiency=eff.gemm_for(h100), memory_efficiency=eff.memory_for(h100))
    seqs, ctx, kv, tp = (np.array([x]) for x in (256.0, 4000.0, 576.0, 1.0))
    floor = 2.0 * 256 * 4000 * 128 * 1088 * v3.layers / 1e15  # arithmetic at the peak
    assert step.decode_attention_time(v3, rates, seqs, ctx, kv, tp)[0] >= floor
