"""Dropless MoE layers that synchronise with the host take at least the host's issue time; routing traffic."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from flopwatt import catalog
from flopwatt.perf import compute, experts, training
from flopwatt.perf import flops as fl
from flopwatt.perf.plans import Plans
from flopwatt.specs import TrainingWorkload
from flopwatt.specs.model import MoESpec

QWEN = catalog.get("models", "qwen3-30b-a3b")


def _ctx(model=QWEN, stack="megatron-bridge", system="dgx-b200", precision="bf16"):
    workload = TrainingWorkload(model=model, seq_len=4096, precision=precision)
    return training._context(workload, catalog.get("systems", system), catalog.get("stacks", stack),
                             catalog.efficiency(), None, 8)


def _moe_times(ctx, plans):
    shard = fl.Shard(seq=np.full(len(plans), 4096.0), batch=plans.micro_batch, tp=plans.tp, ep=plans.ep)
    return compute.layer_times(ctx.model, shard, plans.sequence_parallel, ctx.stack, ctx.rates, moe=True)


PLANS = Plans.build(tp=1, pp=1, dp=8, ep=8, micro_batch=[1, 2, 4, 8], global_batch=512, recompute="none")


def test_floor_is_the_host_time_or_the_device_time_whichever_is_longer():
    ctx = _ctx()
    rule = experts.moe_host_issue()
    moe = _moe_times(ctx, PLANS)
    ep = np.full(len(PLANS), 1e-4)
    floored = experts.host_issue_floor(ctx, PLANS, moe, ep)
    pass_ep = ep / 2
    assert np.allclose(floored.forward + pass_ep, np.maximum(moe.forward + pass_ep, rule["forward_s"]))
    assert np.allclose(floored.backward + pass_ep,
                       np.maximum(moe.backward + pass_ep, rule["backward_factor"] * rule["forward_s"]))
    assert np.all(floored.forward >= moe.forward) and np.all(floored.backward >= moe.backward)
    assert np.array_equal(floored.recompute_full, floored.forward)


@pytest.mark.parametrize("stack", ["torchtitan", "deepseek"])
def test_stacks_without_the_host_sync_are_unchanged(stack):
    ctx = _ctx(stack=stack)
    moe = _moe_times(ctx, PLANS)
    assert experts.host_issue_floor(ctx, PLANS, moe, np.zeros(len(PLANS))) is moe


def test_padded_routing_needs_no_sync():
    padded = dataclasses.replace(QWEN, moe=MoESpec(experts=128, topk=8, ffn_hidden=768, capacity_factor=1.25))
    ctx = _ctx(model=padded)
    moe = _moe_times(ctx, PLANS)
    assert experts.host_issue_floor(ctx, PLANS, moe, np.zeros(len(PLANS))) is moe


def test_host_bound_layers_make_larger_micro_batches_faster_per_token():
    """Host time per layer is fixed, device time grows with the tokens: throughput rises with the micro-batch
    until the device time exceeds the host time."""
    model = QWEN
    workload = TrainingWorkload(model=model, seq_len=4096, precision="bf16")
    system, stack = catalog.get("systems", "dgx-b200"), catalog.get("stacks", "megatron-bridge")
    result = training.evaluate_training(workload, system, PLANS, stack, 8)
    tokens = result.metrics["tokens_per_s"]
    assert tokens[0] < tokens[1] < tokens[2]
    floor = experts.moe_host_issue()["forward_s"] * (1 + experts.moe_host_issue()["backward_factor"])
    busy = result.time["time/compute"][0] + result.time["time/comm/ep"][0]  # the device's layer span incl. EP
    per_layer_mb = busy / (512 / 8) / model.layers
    assert per_layer_mb >= floor * (1 - 1e-9)  # micro-batch 1: the host sets the pace


def test_catalog_entry_is_sourced():
    data = catalog.read_toml("efficiency.toml", "catalog efficiency.toml")["moe_host_issue"]
    assert data["source"].startswith("FITTED (python bench/moe_host_issue.py)") and data["retrieved"]
    assert 0 < data["forward_s"] < 0.1 and data["backward_factor"] >= 1


def test_token_routing_elements_hand_count():
    """Qwen3-30B-A3B, 4096 tokens: permute (T h + T k h), regroup twice (2 x 2 T k h), unpermute (T k h + T h),
    router softmax/top-k over 128 experts in fp32 (2 x 2 T E)."""
    t, h, k, e = 4096, 2048, 8, 128
    hand = t * h + t * k * h + 4 * t * k * h + t * k * h + t * h + 4 * t * e
    assert compute.token_routing_elements(QWEN, np.array([float(t)]))[0] == pytest.approx(hand)


def test_moe_elementwise_traffic_includes_routing():
    stack = catalog.get("stacks", "megatron-bridge")
    seq, one = np.array([4096.0]), np.ones(1)
    other, _ = compute.elementwise_elements(QWEN, seq, one, one, np.array([True]), stack, moe=True)
    f = QWEN.moe.topk * QWEN.moe.ffn_hidden
    fused = (2 * 2 + 2 * 3.5) * QWEN.hidden * 4096 + 3 * f * 4096
    assert other[0] == pytest.approx(fused + compute.token_routing_elements(QWEN, seq)[0])
