"""Tensor-parallel MoE layers (expert parallelism 1): flopwatt.perf.serving_moe through serving_step._moe_layer."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flopwatt import catalog
from flopwatt.perf import flops as fl
from flopwatt.perf import serving_moe
from flopwatt.perf import serving_step as step
from flopwatt.serve import _rates

RATES = _rates(catalog.system_for("h200-sxm-141gb"), "fp8")
ROUTED = np.array([1.0, 16.0, 256.0, 4096.0])


def _layer(model_id: str, tp: float, ep: float = 1.0):
    model = catalog.get("models", model_id)
    tp_arr = np.full_like(ROUTED, tp)
    return step._moe_layer(model, RATES, ROUTED, (tp_arr, tp_arr * ep), 1.0, ROUTED)  # noqa: SLF001


@pytest.mark.parametrize("model_id", ["mixtral-8x7b", "qwen3-30b-a3b", "deepseek-v3"])
@pytest.mark.parametrize("tp", [1.0, 2.0, 8.0])
def test_split_experts_do_the_same_work_as_whole_ones(model_id, tp):
    """1/tp of every expert on every rank is the FLOPs of E/tp whole experts on the rank's share of the tokens."""
    model = catalog.get("models", model_id)
    split = serving_moe.moe_tp_gemms(model, ROUTED, np.full_like(ROUTED, tp), 2.0)
    whole = fl.layer_gemms(model, fl.Shard(seq=np.ones_like(ROUTED), batch=ROUTED, tp=tp, ep=tp), 2.0, moe=True,
                           capacity=False)
    for name in ("expert_up", "expert_down", "shared_up", "shared_down"):
        if name in whole:
            assert np.allclose(fl.total_flops(split, [name]), fl.total_flops(whole, [name]))
    # the router is replicated: every rank scores all tokens
    assert np.allclose(fl.total_flops(split, ["router"]), tp * fl.total_flops(whole, ["router"]))


def test_at_tp1_the_layouts_differ_only_by_the_token_shuffle():
    model = catalog.get("models", "mixtral-8x7b")
    time, streamed = _layer("mixtral-8x7b", 1.0)
    one = np.ones_like(ROUTED)
    attention = fl.layer_gemms(model, fl.Shard(seq=one, batch=ROUTED, tp=one, ep=one), step.ACT_BYTES, moe=True,
                               capacity=False)
    ep_time, ep_streamed = step._moe_ep_layer(model, RATES, ROUTED, one, 1.0, ROUTED, attention)  # noqa: SLF001
    shuffle = serving_moe.token_shuffle_time(model, RATES, ROUTED, step.ACT_BYTES)
    assert np.allclose(time, ep_time + shuffle) and np.allclose(streamed, ep_streamed)


def test_token_shuffle_hand_count_and_it_does_not_shrink_with_tp():
    model = catalog.get("models", "mixtral-8x7b")
    moved = 2 * (1 + 2) * 4096 * 4096 * 2.0  # expand + finalize, k = 2, h = 4096, 16-bit, 4096 tokens
    assert serving_moe.token_shuffle_time(model, RATES, np.array([4096.0]), 2.0)[0] == pytest.approx(
        RATES.memory_time(np.array([moved]))[0])
    t1, t8 = _layer("mixtral-8x7b", 1.0)[0], _layer("mixtral-8x7b", 8.0)[0]
    shuffle = serving_moe.token_shuffle_time(model, RATES, ROUTED, step.ACT_BYTES)
    assert np.all(t8 >= shuffle) and np.all(t8 < t1)


def test_expert_parallel_plans_keep_the_whole_expert_layout():
    model = catalog.get("models", "deepseek-v3")
    tp, ep = np.full_like(ROUTED, 2.0), 4.0
    one = np.ones_like(ROUTED)
    attention = fl.layer_gemms(model, fl.Shard(seq=one, batch=ROUTED, tp=tp, ep=tp * ep), step.ACT_BYTES,
                               moe=True, capacity=False)
    expected = step._moe_ep_layer(model, RATES, ROUTED, tp * ep, 1.0, ROUTED, attention)  # noqa: SLF001
    got = _layer("deepseek-v3", 2.0, ep)
    assert np.allclose(got[0], expected[0]) and np.allclose(got[1], expected[1])


def test_the_serving_result_states_how_experts_split_at_ep_1():
    from flopwatt import api
    from flopwatt.api.requests import ServeRequest

    body = dict(model="mixtral-8x7b", accelerator="h100-sxm5-80gb", devices=8, input_len=1000, output_len=200)
    split = api.serve(ServeRequest(**body, tp=4))
    assert any("experts at ep 1" in line and "1/4 slice" in line for line in split.assumptions)
    dense = api.serve(ServeRequest(**{**body, "model": "llama3.1-8b"}, tp=4))
    assert not any("experts at ep 1" in line for line in dense.assumptions)


@given(per_expert=st.floats(1e-7, 1e-1), grouped=st.floats(1e-7, 1e-1), rows=st.floats(0.0, 1e4),
       more=st.floats(0.0, 1e4))
def test_routed_experts_sit_between_the_grouped_pass_and_one_call_per_expert(per_expert, grouped, rows, more):
    """Never below the grouped roofline, never above the larger reading, one call per expert once an expert's rows
    fill a tile, and never faster for more rows per expert (flopwatt.perf.serving_moe.routed_expert_time)."""
    t = serving_moe.routed_expert_time(np.array([per_expert]), np.array([grouped]), np.array([rows, rows + more]))
    assert grouped <= t[0] <= max(grouped, per_expert) + 1e-18 and t[0] <= t[1]
    if rows >= serving_moe.MOE_TILE_ROWS:
        assert t[0] == pytest.approx(max(grouped, per_expert))


@pytest.mark.parametrize("model_id", ["qwen3-30b-a3b", "deepseek-v3"])
def test_few_tokens_per_expert_run_faster_than_one_call_per_expert_and_many_do_not(model_id):
    """At 1-16 routed tokens each touched expert gets a fraction of a tile's rows: the layer runs below the
    per-expert reading; at 4096 tokens (>= 64 rows each) it is that reading."""
    model = catalog.get("models", model_id)
    tp = np.full_like(ROUTED, 8.0)
    layer, _ = step._moe_layer(model, RATES, ROUTED, (tp, tp), 1.0, ROUTED)  # noqa: SLF001
    gemms = serving_moe.moe_tp_gemms(model, ROUTED, tp, step.ACT_BYTES)
    share = 1.0 - (1.0 - model.moe.topk / model.moe.experts) ** ROUTED
    touched = {n: (ROUTED * model.moe.topk / model.moe.experts, share) for n in step.ROUTED_EXPERTS}
    per_expert, _ = step._gemm_group({n: gemms[n] for n in step.ROUTED_EXPERTS}, RATES, ROUTED, 1.0,  # noqa: SLF001
                                     touched)
    assert np.all(layer[:2] < per_expert[:2])
    assert layer[3] >= per_expert[3]
