"""enumerate_plans builds layouts first, then crosses them with the other knobs: the same plans, in the
same order, as the full Cartesian product filtered at once (kept here as the reference)."""

from __future__ import annotations

import numpy as np
import pytest

from flopwatt import catalog
from flopwatt.perf.partition import first_last_split
from flopwatt.perf.plans import RECOMPUTE
from flopwatt.perf.space import (
    MAX_MICRO_BATCH,
    MAX_VPP,
    PARTIAL_RECOMPUTE,
    PlanRequest,
    _options,
    divisors,
    enumerate_plans,
)


def _reference(request, model, stack, system):
    n = request.devices
    divs = divisors(n)
    tp_open = divs[(divs <= 2 * system.scale_up_domain_devices) & (model.heads % divs == 0)] \
        if stack.tensor_parallel else np.array([1])
    tp = _options(request.tp, tp_open)
    pp = _options(request.pp, divs[divs <= model.layers] if stack.pipeline_parallel else np.array([1]))
    cp = _options(request.cp, np.array([1]))
    mb = _options(request.micro_batch, 2 ** np.arange(int(np.log2(min(MAX_MICRO_BATCH, request.global_batch))) + 1))
    vpp = _options(request.vpp, np.arange(1, MAX_VPP + 1) if stack.interleaved_pipeline else np.array([1]))
    zero = _options(request.zero_stage, np.array(stack.zero_stages))
    names = [r for r in RECOMPUTE if r != "selective" or stack.selective_recompute]
    recompute = _options(None if request.recompute is None else RECOMPUTE.index(request.recompute),
                         np.arange(len(RECOMPUTE))[[r in names for r in RECOMPUTE]])
    sp = _options(request.sequence_parallel, np.array([False, True]) if stack.sequence_parallel else np.array([False]))
    ep = _options(request.ep, divisors(model.moe.experts) if model.moe is not None else np.array([1]))
    fractions = np.array(PARTIAL_RECOMPUTE if stack.partial_recompute and request.recompute is None else [1.0])
    grid = np.meshgrid(tp, pp, cp, mb, vpp, zero, recompute, sp, ep, fractions, indexing="ij")
    tp_, pp_, cp_, mb_, vpp_, z_, rc_, sp_, ep_, fr_ = (g.ravel() for g in grid)
    dp_ = n // (tp_ * pp_ * cp_)
    keep = (tp_ * pp_ * cp_ * dp_ == n) & ((vpp_ == 1) | (pp_ > 1))
    keep &= (dp_ > 0) & (request.global_batch % np.maximum(dp_ * mb_, 1) == 0) & (~sp_ | (tp_ > 1))
    keep &= (dp_ > 0) & (np.maximum(dp_, 1) % ep_ == 0)
    keep &= (rc_ == RECOMPUTE.index("full")) | (fr_ == 1.0)
    if request.dp is not None:
        keep &= dp_ == request.dp
    if not stack.uneven_pipeline_partition:
        keep &= model.layers % (pp_ * vpp_) == 0
    if stack.pipeline_partition == "first-last":
        keep &= first_last_split(model.layers, pp_, vpp_)["ok"]
    idx = np.flatnonzero(keep)
    return tp_[idx], pp_[idx], dp_[idx], mb_[idx], vpp_[idx], z_[idx], rc_[idx], sp_[idx], ep_[idx], fr_[idx]


@pytest.mark.parametrize(("model", "devices", "batch", "stack", "fixed"), [
    ("gpt3-175b", 1024, 1536, "megatron-core", {}),
    ("gpt3-175b", 384, 1536, "megatron-2021", {"tp": 8}),
    ("llama3.1-405b", 16384, 2048, "megatron-core", {}),
    ("llama3-8b", 12, 48, "torchtitan", {}),
    ("mixtral-8x7b", 64, 256, "megatron-core", {"dp": 8}),
    ("llama3-70b", 512, 512, "deepspeed-megatron", {"recompute": "full"}),
])
def test_same_plans_in_the_same_order(model, devices, batch, stack, fixed):
    m, s, system = catalog.get("models", model), catalog.get("stacks", stack), catalog.system_for("h100-sxm5-80gb")
    request = PlanRequest(devices=devices, global_batch=batch, **fixed)
    plans = enumerate_plans(request, m, s, system)
    ref = _reference(request, m, s, system)
    got = (plans.tp, plans.pp, plans.dp, plans.micro_batch, plans.vpp, plans.zero_stage, plans.recompute,
           plans.sequence_parallel, plans.ep, plans.recompute_layers)
    for a, b in zip(got, ref, strict=True):
        np.testing.assert_array_equal(a, b)
