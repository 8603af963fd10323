"""Prefill/decode pools measured alone, redundant experts, the Llama 3 token estimate of the OpenOrca set, and the
serving conventions that select them (validation rows never run here)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from flopwatt import catalog
from flopwatt.catalog import engine_profiles
from flopwatt.errors import InputError
from flopwatt.perf import serving_ep
from flopwatt.serve import ServeRequest, estimate_serving
from flopwatt.validate import conventions as conv


def _deepseek(**kw) -> ServeRequest:
    base = dict(model=catalog.get("models", "deepseek-v3"), system=catalog.system_for("h100-sxm5-80gb"), devices=32,
                input_len=2000.0, output_len=1.0, precision="fp8", tp=1, ep=32, max_batch=256)
    base.update(kw)
    return ServeRequest(**base)


def test_a_decode_pool_carries_no_prompt_tokens_and_outruns_the_colocated_replica():
    """Same plan, same KV held: without prompts riding its iterations the decode pool is never slower."""
    both = estimate_serving(_deepseek(output_len=500.0, tp=1, ep=32, overlap=False))
    plan = both["plan"]
    alone = estimate_serving(_deepseek(output_len=500.0, decode_only=True, overlap=False))
    assert alone["metrics"]["input_tokens_per_s"] == 0.0
    assert alone["metrics"]["prefill_attention_s"] == 0.0
    fixed = dict(max_batch=plan["batch_per_replica"] // plan["ep"])
    both_b = estimate_serving(_deepseek(output_len=500.0, overlap=False, **fixed))
    alone_b = estimate_serving(_deepseek(output_len=500.0, decode_only=True, overlap=False, **fixed))
    assert alone_b["metrics"]["output_tokens_per_s"] >= both_b["metrics"]["output_tokens_per_s"]


def test_a_prefill_pool_reports_prompt_tokens_per_request_first_token():
    """output_len 1: every request ends at its first token, so input tokens/s = input_len x output tokens/s."""
    best = estimate_serving(_deepseek(max_tokens_per_iteration=16384))
    m = best["metrics"]
    assert m["input_tokens_per_s"] == pytest.approx(2000.0 * m["output_tokens_per_s"])


def test_longer_prompts_never_raise_a_prefill_pools_request_rate():
    rates = [estimate_serving(_deepseek(input_len=n))["metrics"]["output_tokens_per_s"] for n in (1000.0, 4096.0)]
    assert rates[1] <= rates[0]


def test_redundant_experts_make_a_non_divisor_ep_legal_and_cost_memory():
    with pytest.raises(InputError, match="divisor of the 256 experts"):
        _deepseek(devices=72, ep=72)
    req = _deepseek(devices=72, ep=72, redundant_experts=32, decode_only=True)
    model = req.model
    tp, pp, ep = np.array([1.0]), np.array([1.0]), np.array([72.0])
    plain = serving_ep.weights_per_device(model, 1.0, tp, ep, pp)
    held = serving_ep.weights_per_device(model, 1.0, tp, ep, pp, redundant=32)
    experts = model.moe_layers * model.routed_expert_params()
    assert held[0] - plain[0] == pytest.approx(experts * 32 / 256 / 72)
    assert estimate_serving(req)["plan"]["ep"] == 72
    with pytest.raises(InputError, match="redundant_experts"):
        _deepseek(redundant_experts=-1)


def test_decode_only_cannot_be_disaggregated():
    with pytest.raises(InputError, match="decode_only"):
        dataclasses.replace(_deepseek(ep=None, tp=None), decode_only=True, disaggregate=True)


def test_llama3_token_estimate_is_the_llama2_set_in_other_units():
    """Means scale by r, second moments by r^2 (coefficients of variation unchanged)."""
    sets = catalog.serving_datasets()
    l2, l3 = sets["mlperf-llama2-70b-openorca"], sets["mlperf-llama2-70b-openorca-llama3-tokens"]
    r = 3.17 / 3.94
    assert l3.mean_input_tokens == pytest.approx(l2.mean_input_tokens * r, rel=1e-4)
    assert l3.mean_output_tokens == pytest.approx(l2.mean_output_tokens * r, rel=1e-4)
    for name in ("mean_output_sq_tokens2", "mean_input_output_tokens2", "mean_input_sq_tokens2"):
        assert getattr(l3, name) == pytest.approx(getattr(l2, name) * r * r, rel=1e-4)
    assert catalog.serving_dataset("mlperf-inference", "llama3.1-70b") is l3
    assert "ESTIMATE" in l3.source


def test_a_phase_must_be_prefill_or_decode():
    with pytest.raises(InputError, match="conventions.phase"):
        conv.Convention(phase="both")


def test_every_serving_phase_and_attention_dp_convention_is_sourced():
    table = conv.conventions()
    for key, entry in table.items():
        if "phase" in entry or "attention_dp" in entry or "redundant_experts" in entry:
            assert entry["source"] and entry["retrieved"] == "2026-12-06", key


def test_deployment_profiles_exist_and_stay_out_of_the_release_family():
    assert engine_profiles.DEPLOYMENTS <= set(engine_profiles.engines())
    sglang = engine_profiles.family("sglang")
    assert all(d not in sglang.source.split("; ") for d in engine_profiles.DEPLOYMENTS)
