"""Feasibility as the stacks' code allows it: device counts off the node size, ZeRO-3 with pipelining."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flopwatt import catalog
from flopwatt.estimate import estimate_training
from flopwatt.footprint import default_setting, run_footprint
from flopwatt.perf.feasibility import REASONS, structural_reasons
from flopwatt.perf.partition import first_last_split, split_ok
from flopwatt.perf.plans import Plans
from flopwatt.perf.space import PlanRequest, enumerate_plans
from flopwatt.specs import TrainingWorkload


@pytest.mark.parametrize("devices", [4, 12])
def test_device_counts_off_the_node_size_plan_and_price(devices):
    model = catalog.get("models", "llama3-8b")
    system = catalog.get("systems", "dgx-h100")
    workload = TrainingWorkload(model=model, seq_len=8192, tokens=1e9)
    estimate = estimate_training(workload, system, catalog.get("stacks", "megatron-core"),
                                 PlanRequest(devices=devices, global_batch=48))
    assert estimate.best is not None
    best = estimate.result.take(np.array([estimate.best]))
    assert int(best.plans.devices[0]) == devices
    footprint = run_footprint(best, workload, system, devices, default_setting())
    assert footprint["energy/it_j"][0] > 0


def test_zero3_with_pipelining_only_where_the_stack_allows_it():
    model = catalog.get("models", "llama3.1-70b")
    plans = Plans.build(tp=8, pp=4, dp=4, micro_batch=1, global_batch=64, zero_stage=3)
    zero_pp = REASONS.index("zero_pp")
    assert structural_reasons(model, plans, catalog.get("stacks", "torchtitan"), 128, 8192)[0] != zero_pp
    assert structural_reasons(model, plans, catalog.get("stacks", "deepspeed-megatron"), 128, 8192)[0] == zero_pp


def test_the_global_batch_must_split_into_whole_micro_batches_on_every_stack():
    model = catalog.get("models", "llama3.1-8b")
    plans = Plans.build(tp=1, pp=1, dp=12, micro_batch=2, global_batch=36)  # 36 / 24 is not whole
    for stack in catalog.stacks().values():
        assert structural_reasons(model, plans, stack, 12, 8192)[0] == REASONS.index("batch")


def test_expert_parallelism_folds_over_tensor_and_data_parallel_ranks():
    """Megatron-Core checks world_size % (etp x ep x pp) == 0 (experts whole: etp = 1), so ep may span TP ranks
    (Qwen3-235B on tp 2, pp 8, dp 16 with ep 32, row MBRIDGE-20) but must divide tp x cp x dp and the experts."""
    model = catalog.get("models", "qwen3-235b-a22b")
    stack = catalog.get("stacks", "megatron-core")
    ep_code = REASONS.index("ep")
    folded = Plans.build(tp=2, pp=2, dp=16, ep=32, micro_batch=1, global_batch=64, sequence_parallel=True)
    assert structural_reasons(model, folded, stack, 64, 4096)[0] != ep_code
    too_wide = Plans.build(tp=2, pp=2, dp=16, ep=64, micro_batch=1, global_batch=64, sequence_parallel=True)
    assert structural_reasons(model, too_wide, stack, 64, 4096)[0] == ep_code  # 64 does not divide 2 x 16
    not_experts = Plans.build(tp=1, pp=1, dp=24, ep=24, micro_batch=1, global_batch=24)
    assert structural_reasons(model, not_experts, stack, 24, 4096)[0] == ep_code  # 24 does not divide 128
    request = PlanRequest(devices=64, global_batch=64, tp=2, pp=2, ep=32)  # the planner enumerates it too
    enumerated = enumerate_plans(request, model, stack, catalog.get("systems", "dgx-h100"))
    assert len(enumerated) > 0 and set(enumerated.ep.tolist()) == {32}


def test_llama3_405b_takes_eight_virtual_stages_on_sixteen_ranks_where_the_ends_count_as_layers():
    """126 layers + embedding + output layer = 128 units = 16 ranks x 8 virtual stages of one unit (torchtitan
    _generate_llm_fqn_per_model_part; Megatron-Core account_for_embedding/loss_in_pipeline_split); a ninth
    virtual stage would leave some stage empty."""
    model = catalog.get("models", "llama3.1-405b")
    layers_pp = REASONS.index("layers_pp")
    for stack in ("meta-llama3", "torchtitan", "megatron-bridge"):
        reasons = [structural_reasons(model, Plans.build(tp=8, pp=16, dp=128, vpp=vpp, micro_batch=1,
                                                         global_batch=2048, sequence_parallel=True),
                                      catalog.get("stacks", stack), 16384, 8192)[0] for vpp in (8, 9)]
        assert reasons[0] != layers_pp and reasons[1] == layers_pp, stack


@given(layers=st.integers(1, 200), pp=st.integers(1, 64), vpp=st.integers(1, 16))
def test_each_partition_rule_accepts_exactly_its_splits(layers, pp, vpp):
    stages = pp * vpp
    pp_, vpp_ = np.array([pp]), np.array([vpp])
    assert bool(split_ok(layers, "uniform", pp_, vpp_)[0]) == (layers % stages == 0)
    assert bool(split_ok(layers, "parameters", pp_, vpp_)[0]) == (stages <= layers)
    # L + 2 units over the virtual stages, as balanced as they go: every stage keeps at least one unit
    units = np.full(stages, (layers + 2) // stages) + (np.arange(stages) < (layers + 2) % stages)
    assert bool(split_ok(layers, "transformer-embedding", pp_, vpp_)[0]) == bool(units.min() >= 1)
    assert bool(split_ok(layers, "first-last", pp_, vpp_)[0]) == bool(first_last_split(layers, pp_, vpp_)["ok"][0])
    # the uniform split is one of the uneven ones
    if split_ok(layers, "uniform", pp_, vpp_)[0]:
        assert split_ok(layers, "parameters", pp_, vpp_)[0] and split_ok(layers, "transformer-embedding", pp_, vpp_)[0]
