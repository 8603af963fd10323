"""Mixture-of-experts, MLA, expert and context parallelism, FP8: hand counts and closed forms."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from flopwatt import catalog
from flopwatt.errors import InputError
from flopwatt.perf import flops as fl
from flopwatt.perf.plans import Plans
from flopwatt.perf.training import evaluate_training
from flopwatt.specs import TrainingWorkload
from flopwatt.specs.model import MoESpec


def test_mixtral_8x7b_total_and_active_parameters_hand_count():
    """Jiang et al. 2024: 46.7B total, 12.9B active (top-2 of 8 SwiGLU experts, 32 layers)."""
    m = catalog.get("models", "mixtral-8x7b")
    h, f, layers, vocab = 4096, 14336, 32, 32000
    attention = h * (4096 + 2 * 1024) + 4096 * h  # q, k, v (8 KV heads x 128), o
    expert = 3 * h * f
    hand_total = layers * (attention + 8 * expert + h * 8) + 2 * vocab * h
    hand_active = layers * (attention + 2 * expert + h * 8) + 2 * vocab * h
    assert m.total_params() == pytest.approx(hand_total, rel=2e-3)  # biases/norms are the remainder
    assert m.active_params() == pytest.approx(hand_active, rel=2e-3)
    assert m.total_params() / 1e9 == pytest.approx(46.7, abs=0.1)
    assert m.active_params() / 1e9 == pytest.approx(12.9, abs=0.1)


def test_deepseek_v3_37b_active_of_671b():
    m = catalog.get("models", "deepseek-v3")
    assert m.total_params() / 1e9 == pytest.approx(671, rel=0.005)
    assert m.active_params() / 1e9 == pytest.approx(37, rel=0.02)


def test_moe_layer_flops_are_twice_the_active_weights_per_token():
    m = catalog.get("models", "mixtral-8x7b")
    one = np.ones(1)
    shard = fl.Shard(seq=np.array([1.0]), batch=one, tp=one)
    gemms = fl.layer_gemms(m, shard, 2.0, moe=True, capacity=False)
    linear = fl.total_flops(gemms) - fl.total_flops(gemms, fl.ATTENTION_CORE)
    active_weights = m.moe_layer_params(active=True) - 2 * m.hidden - (4096 + 2 * 1024) - m.hidden  # no norms/biases
    active_weights -= 2 * (m.mlp_matrices - 1) * m.moe.ffn_hidden + 2 * m.hidden  # expert biases of the top-2
    assert linear[0] == pytest.approx(2 * active_weights, rel=1e-3)


def test_expert_gemms_are_split_into_local_expert_calls():
    m = catalog.get("models", "deepseek-v3")
    shard = fl.Shard(seq=np.array([4096.0]), batch=np.ones(1), tp=np.ones(1), ep=np.array([64]))
    gemms = fl.layer_gemms(m, shard, 2.0, moe=True)
    flops, _, calls = gemms["expert_up"]
    assert calls[0] == 256 / 64
    per_expert_tokens = 64 * 4096 * 8 / 256
    assert flops[0] == pytest.approx(2 * per_expert_tokens * 2 * 2048 * 7168)


@pytest.fixture(scope="module")
def moe_setup():
    model = catalog.get("models", "mixtral-8x7b")
    system = catalog.get("systems", "dgx-h100")
    stack = catalog.get("stacks", "megatron-core")
    return model, system, stack


def _run(model, system, stack, plans, devices, precision="bf16", seq=4096):
    workload = TrainingWorkload(model=model, seq_len=seq, precision=precision)
    return evaluate_training(workload, system, plans, stack, devices)


def test_all_to_all_bytes_match_the_closed_form(moe_setup):
    """Per MoE layer and micro-batch a device sends tokens/tp x top-k x h x bytes per All-to-All; the share
    for experts outside its scale-up domain, (ep - g)/ep, crosses the network; dispatch and combine run
    forward and backward: 2 x 2 All-to-Alls."""
    from flopwatt.perf import experts, training

    model, system, stack = moe_setup
    workload = TrainingWorkload(model=model, seq_len=4096)
    ctx = training._context(workload, system, stack, catalog.efficiency(), None)
    for ep in (8, 16, 32):
        plans = Plans.build(tp=1, pp=1, dp=64, ep=ep, micro_batch=2, global_batch=128, recompute="none")
        _, moved = experts.ep_layer_time(ctx, plans, np.array([4096.0]), np.zeros(1))
        g = 8
        closed = 2 * 2 * (2 * 4096) * model.moe.topk * model.hidden * 2.0 * (ep - g) / ep
        assert moved[0] == pytest.approx(closed)


def test_context_parallel_kv_volume_closed_form(moe_setup):
    _, system, stack = moe_setup
    model = catalog.get("models", "llama3-8b")
    cp, tp, b, s = 4, 1, 1, 32768
    plans = Plans.build(tp=tp, pp=1, dp=16, cp=cp, micro_batch=b, global_batch=16, recompute="none")
    result = _run(model, system, stack, plans, 64, seq=s)
    chunk = 2 * b * (s / cp) * model.kv_width / tp * 2.0  # K and V of the local chunk, bf16
    per_layer = (1 + 2) * (cp - 1) * chunk  # forward pass; backward moves K, V and their gradients
    dp_part = 2 * (8 - 1) / 8 * result.memory["memory/gradients"][0]  # 8 of the 16 DP ranks share a node
    assert result.traffic["traffic/scale_up_bytes"][0] == pytest.approx(per_layer * model.layers + dp_part, rel=1e-6)
    assert result.time["time/comm/cp"][0] >= 0


def test_context_parallelism_cuts_activation_memory(moe_setup):
    _, system, stack = moe_setup
    model = catalog.get("models", "llama3-8b")
    plans = Plans.build(tp=1, pp=1, dp=[64, 16], cp=[1, 4], micro_batch=1, global_batch=64, recompute="none")
    result = _run(model, system, stack, plans, 64, seq=32768)
    acts = result.memory["memory/activations"]
    assert acts[1] < acts[0] / 3


def test_fp8_speeds_up_linear_layers_and_adds_a_weight_cache(moe_setup):
    model, system, stack = moe_setup
    plans = Plans.build(tp=1, pp=1, dp=64, ep=8, micro_batch=1, global_batch=64, recompute="none")
    bf16 = _run(model, system, stack, plans, 64)
    fp8 = _run(model, system, stack, plans, 64, precision="fp8")
    assert fp8.time["time/compute"][0] < bf16.time["time/compute"][0]
    assert fp8.memory["memory/weights"][0] == pytest.approx(bf16.memory["memory/weights"][0] * 1.5)


def test_topk_above_experts_is_an_input_error():
    with pytest.raises(InputError, match="moe.topk"):
        dataclasses.replace(catalog.get("models", "mixtral-8x7b"), moe=MoESpec(experts=8, topk=9, ffn_hidden=10))


def test_ep_not_dividing_experts_is_masked(moe_setup):
    model, system, stack = moe_setup
    plans = Plans.build(tp=1, pp=1, dp=48, ep=[3, 6, 8], micro_batch=1, global_batch=48)
    reasons = _run(model, system, stack, plans, 48).reason
    names = [catalog_reason(r) for r in reasons]
    assert names[:2] == ["ep", "ep"]


def catalog_reason(code: int) -> str:
    from flopwatt.perf.feasibility import reason_name

    return reason_name(code)
