"""Serving model invariants: KV bytes by hand, bandwidth monotonicity, SLO floors, bad input."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from flopwatt import catalog
from flopwatt.errors import InputError
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
    out = estimate_serving(_request(catalog.get("systems", "dgx-h100")))
    assert out["metrics"]["memory_bytes"] <= 0.9 * 80e9
    assert np.isfinite(out["metrics"]["ttft_s"]) and out["metrics"]["tpot_s"] > 0
