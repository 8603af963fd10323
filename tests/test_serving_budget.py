"""Prompt chunks fill the iteration token budget the decodes leave (flopwatt.perf.serving_queue)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flopwatt import catalog
from flopwatt import serve as serve_module
from flopwatt.catalog import engine_profiles as engine_catalog
from flopwatt.perf import serving_queue as queue
from flopwatt.serve import ServeRequest, estimate_serving
from flopwatt.validate import conventions as conv

budgets = st.integers(min_value=16, max_value=20000)


@given(budget=budgets, cycle=st.floats(min_value=1e-3, max_value=2.0), frac=st.floats(min_value=0.0, max_value=0.99))
def test_a_prompt_token_costs_the_cycle_over_the_leftover_budget(budget, cycle, frac):
    decode = np.floor(frac * budget)
    got = queue.leftover_budget_s_per_token(np.array([cycle]), np.array([decode]), budget)[0]
    assert got == pytest.approx(cycle / (budget - decode))
    assert got >= cycle / budget  # never cheaper than with no decodes at all


@given(budget=budgets, prompt=st.integers(min_value=1, max_value=30000), d1=st.floats(0, 1), d2=st.floats(0, 1))
def test_prompt_cycles_grow_with_the_decodes_and_cover_the_prompt(budget, prompt, d1, d2):
    lo, hi = sorted((np.floor(d1 * (budget - 1)), np.floor(d2 * (budget - 1))))
    cycles = queue.budget_prompt_cycles(prompt, np.array([lo, hi]), budget)
    assert cycles[0] <= cycles[1]
    assert cycles[0] * (budget - lo) >= prompt > (cycles[0] - 1) * (budget - lo)


def test_a_full_budget_admits_no_prompt():
    assert np.isinf(queue.leftover_budget_s_per_token(np.array([0.03]), np.array([256.0]), 256)[0])
    assert np.isinf(queue.budget_prompt_cycles(222.0, np.array([300.0]), 256)[0])


def _request(**kw) -> ServeRequest:
    return ServeRequest(model=catalog.get("models", "llama2-70b"), system=catalog.system_for("h100-sxm5-80gb"),
                        devices=8, input_len=222.3, output_len=294.5, precision="fp8", tp=2,
                        ttft_slo_s=0.45, tpot_slo_s=0.04, slo_percentile=99.0, **kw)


def test_a_tight_budget_lengthens_the_ttft_tail_and_a_loose_one_changes_nothing():
    """At a 256-token budget the prompts of ~110 decoding sequences share ~140 tokens per cycle: the prompt
    queue runs hot and the TTFT tail grows; a budget far above the batch leaves the model as it was."""
    free = estimate_serving(_request(prefill_chunk_tokens=8192))["metrics"]
    loose = estimate_serving(_request(prefill_chunk_tokens=8192, max_tokens_per_iteration=1_000_000))["metrics"]
    assert loose["output_tokens_per_s"] == pytest.approx(free["output_tokens_per_s"])
    tight = estimate_serving(_request(prefill_chunk_tokens=256, max_tokens_per_iteration=256))["metrics"]
    assert tight["output_tokens_per_s"] < free["output_tokens_per_s"]
    assert tight["ttft_queue_wait_s"] > free["ttft_queue_wait_s"]
    assert tight["ttft_slo_percentile_s"] <= 0.45 + 1e-9


def test_the_v50_interactive_rows_run_nvidias_hopper_interactive_settings():
    profile = engine_catalog.get("mlperf-nvidia-v5.0-llama2-70b-interactive-hopper")
    assert profile.engine == "tensorrt-llm" and profile.max_num_tokens == 256 and profile.max_batch_size == 512
    assert profile.kv_allocation is None and profile.chunked_prefill is None  # not in the lines read
    assert "llama2-70b-interactive/Server/custom.py" in profile.source
    assert conv.for_row("MLPI5-05").engine == profile.id
    hpe = engine_catalog.get(conv.for_row("MLPI5-06").engine)  # HPE's H100 class: the same budget at tp 2
    assert (hpe.max_num_tokens, hpe.max_batch_size, hpe.tensor_parallel_size) == (256, 512, 2)
    assert profile.tensor_parallel_size == 1
    b200 = engine_catalog.get(conv.for_row("MLPI5-13").engine)  # NVIDIA's B200 x8 interactive class
    assert (b200.max_num_tokens, b200.max_batch_size, b200.tensor_parallel_size) == (768, 768, 1)
    assert b200.kv_allocation is None and b200.chunked_prefill is None  # its parent class was not read
    family = engine_catalog.family("tensorrt-llm")
    assert family.max_num_tokens is None and family.max_batch_size is None  # a deployment, not a release


def test_nvidias_v50_mixtral_h200_server_settings_reach_its_row_only():
    profile = engine_catalog.get("mlperf-nvidia-v5.0-mixtral-8x7b-h200-server")
    assert (profile.kv_allocation, profile.max_num_tokens, profile.max_batch_size, profile.chunked_prefill) == (
        "on-demand", 8192, 3072, True)
    assert conv.for_row("MLPI5-15").engine == profile.id
    assert conv.for_row("MLPI5-15").suite == "mlperf-inference"  # the prefix's entry still applies
    others = {conv.for_row(r).engine for r in ("MLPI5-14", "MLPI5-16", "MLPI5-17")}  # their own classes
    assert profile.id not in others and None not in others


def test_the_tpot_tail_sees_the_whole_prompt_spread_unless_a_cycle_carries_less():
    """A prompt that fits one cycle adds its whole length to it: the cycle's prompt-time variance uses E[in^2],
    not E[in]^2 (the mean prompt fitting the chunk says nothing about the long ones); a smaller piece per cycle
    (chunk or leftover budget) caps it at piece x E[in]."""
    from flopwatt.perf import serving_slo as slo
    from flopwatt.perf import serving_tail as tail
    from flopwatt.perf.lengths import Lengths

    lengths = Lengths(222.33, 294.45, 294.45 ** 2 * (1 + 0.787 ** 2), None, 78843.6)
    cycles = (np.array([0.030]), np.array([0.034]), np.array([0.030 + 222.33 * 7e-5]))
    args = (lengths, cycles, 222.33, np.array([150.0]), 2.326, 99.0)
    whole = slo._request_tpot_quantile(*args, np.inf)[0]
    capped = slo._request_tpot_quantile(*args, np.array([222.33]))[0]
    points = tail.output_length_points(294.45, lengths.output_cv())
    var = 150.0 / 222.33 * 7e-5 ** 2 * 78843.6
    direct = tail.tpot_quantile_s(np.array([0.030]), np.array([0.004 / 2.326]), np.array([var]), points, 0.99)[0]
    assert whole == pytest.approx(direct, rel=1e-9)
    assert whole > capped


@given(cap=st.sampled_from([8, 16, 32, 64]), pp=st.sampled_from([1, 2, 4]))
def test_the_batch_cap_holds_per_micro_batch_under_pipeline_parallelism(cap, pp):
    """TensorRT-LLM runs max_batch_size sequences per micro-batch, pp micro-batches in flight: the plans admit up
    to cap x pp sequences per replica (above one cap when pp > 1), no micro-batch above the cap."""
    req = ServeRequest(model=catalog.get("models", "llama2-70b"), system=catalog.system_for("h100-sxm5-80gb"),
                       devices=8, input_len=222.3, output_len=294.5, precision="fp8", tp=1, pp=pp, max_batch=cap)
    plans = serve_module._plans(req)
    micro = plans.batch / (plans.ep * plans.pp)
    assert (micro <= cap).all()
    assert plans.batch.max() <= cap * pp
    assert pp == 1 or plans.batch.max() > cap  # more than one micro-batch's cap in flight


@given(cap=st.integers(min_value=1, max_value=3000))
def test_a_replica_load_bounds_every_searched_plan_and_is_itself_searched(cap):
    """``max_replica_batch`` (a fixed-concurrency run's sequences per replica) bounds each plan's replica batch per
    micro-batch, over every expert-parallel degree, and the cap itself is among the batches searched."""
    req = ServeRequest(model=catalog.get("models", "mixtral-8x7b"), system=catalog.system_for("h100-sxm5-80gb"),
                       devices=8, input_len=1000, output_len=1000, max_replica_batch=cap)
    plans = serve_module._plans(req)  # noqa: SLF001 - the searched grid itself
    assert np.all(plans.batch / plans.pp <= cap)
    assert cap in set((plans.batch / plans.pp).astype(int)[plans.ep == 1])
