"""Routed-expert gradients are reduced over the expert-data-parallel group, whose ranks sit ep devices apart."""

from __future__ import annotations

import numpy as np
import pytest

from flopwatt import catalog
from flopwatt.perf import collectives as coll
from flopwatt.perf import experts, training
from flopwatt.perf.plans import Plans
from flopwatt.specs import TrainingWorkload


@pytest.fixture(scope="module")
def ctx():
    workload = TrainingWorkload(model=catalog.get("models", "gpt-oss-120b"), seq_len=4096)
    system = catalog.get("systems", "dgx-b200")
    return training._context(workload, system, catalog.get("stacks", "megatron-bridge"), catalog.efficiency(), None)


def test_ep_filling_the_node_reduces_expert_grads_flat_over_the_network(ctx):
    """ep = 8 on 8-GPU nodes: the 8 replicas of an expert are on 8 nodes, one per node (closed form: a ring
    AllReduce of the whole buffer on the scale-out tier)."""
    plans = Plans.build(tp=1, pp=1, dp=64, ep=8, micro_batch=1, global_batch=64, recompute="none")
    nbytes = np.array([28.7e9])
    got = experts.expert_dp_time(ctx, plans, "ar", nbytes)
    flat = coll.all_reduce(np.array([8.0]), nbytes, ctx.out_for(np.array([8.0])))
    assert got[0] == pytest.approx(flat[0], rel=1e-9)
    dense_layout = coll.hierarchical("ar", np.array([64.0]), np.array([8.0]), nbytes, ctx.up, ctx.out)
    assert got[0] > 4 * dense_layout[0]  # 8x the scale-out bytes of a node-local pre-reduction


def test_no_expert_replicas_no_expert_reduction(ctx):
    plans = Plans.build(tp=1, pp=1, dp=64, ep=64, micro_batch=1, global_batch=64, recompute="none")
    assert experts.expert_dp_time(ctx, plans, "ar", np.array([1e9]))[0] == 0.0


@pytest.mark.parametrize("ep", [1, 2, 4, 8])
def test_expert_reduction_time_grows_as_ep_spreads_replicas(ctx, ep):
    """Same bytes: fewer replicas inside a node (larger ep) leave more of the reduction to the network."""
    small = Plans.build(tp=1, pp=1, dp=64, ep=ep, micro_batch=1, global_batch=64, recompute="none")
    spread = Plans.build(tp=1, pp=1, dp=64, ep=8, micro_batch=1, global_batch=64, recompute="none")
    nbytes = np.array([4e9])
    assert experts.expert_dp_time(ctx, small, "ar", nbytes)[0] <= experts.expert_dp_time(ctx, spread, "ar", nbytes)[0]


def test_dense_models_have_no_routed_params(ctx):
    plans = Plans.build(tp=1, pp=1, dp=8, micro_batch=1, global_batch=8, recompute="none")
    assert experts.routed_params_per_device(catalog.get("models", "llama3-8b"), plans, np.array([32.0]))[0] == 0.0


def test_moe_step_pays_the_cross_node_expert_reduction():
    """GPT-OSS-120B on 64 B200s, ep 8, DDP: the exposed DP time covers at least the expert AllReduce minus one
    micro-batch's backward it overlaps."""
    model = catalog.get("models", "gpt-oss-120b")
    system = catalog.get("systems", "dgx-b200")
    stack = catalog.get("stacks", "megatron-bridge")
    workload = TrainingWorkload(model=model, seq_len=4096)
    plans = Plans.build(tp=1, pp=1, dp=64, ep=8, micro_batch=4, global_batch=512, recompute="none", zero_stage=1)
    result = training.evaluate_training(workload, system, plans, stack, 64)
    c = training._context(workload, system, stack, catalog.efficiency(), None, 64)
    routed = experts.routed_params_per_device(model, plans, np.array([36.0]))
    assert routed[0] == pytest.approx(model.moe_layers * model.routed_expert_params() / 8)
    reduce = experts.expert_dp_time(c, plans, "ar", routed * c.grad_reduce_bytes)[0]
    backward = result.time["time/compute"][0] / (512 / 64 / 4) * 2 / 3
    assert result.time["time/comm/dp"][0] >= reduce - backward
