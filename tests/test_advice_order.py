"""The advice searches other stacks in order of their spaces' least bound (issue 22): the stack it names is the
one catalog order names - the fastest within the 1.2x rule, the first listed of equals - checked against every
other stack's whole space evaluated in catalog order."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flopwatt import api, catalog, estimate
from flopwatt.api.requests import TrainRequest
from flopwatt.api.training import ADVICE_CUTOFF_SLACK, ADVICE_SPEEDUP, _plan_request
from flopwatt.specs import TrainingWorkload


def _reference_stack(req: TrainRequest, result) -> str | None:
    """The catalog-order rule: each other stack's fastest plan (whole space), the first of the fastest within
    mine / ADVICE_SPEEDUP."""
    inputs = result.inputs
    model, system = catalog.get("models", inputs["model"]), catalog.get("systems", inputs["system"])
    stack = catalog.get("stacks", inputs["stack"])
    workload = TrainingWorkload(model=model, seq_len=inputs["seq_len"], tokens=None, precision=inputs["precision"])
    request = _plan_request(req)
    mine = estimate.exhaustive_choice(workload, system, stack, request).step_time_s
    rule = mine / ADVICE_SPEEDUP * (1 + ADVICE_CUTOFF_SLACK)
    best = None
    for other in catalog.stacks().values():
        if other.id == stack.id or other.parallel_block != stack.parallel_block:
            continue
        step = estimate.exhaustive_choice(workload, system, other, request).step_time_s
        if np.isfinite(step) and step <= rule and (best is None or step < best[1]):
            best = (other.id, step)
    return best[0] if best and best[1] * ADVICE_SPEEDUP <= mine else None


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=st.sampled_from(("llama3-8b", "gpt3-1.3b", "llama3-70b", "mixtral-8x7b")),
       devices=st.sampled_from((16, 64, 96, 128)), batch=st.sampled_from((1, 2, 3)),
       stack=st.sampled_from(("megatron-2021", "megatron-core", "deepspeed-megatron", "fsdp", "torchtitan")),
       knobs=st.sampled_from(({}, {"tp": 2}, {"recompute": "full"}, {"micro_batch": 1, "zero": 1})))
def test_the_named_stack_is_catalog_orders(model, devices, batch, stack, knobs):
    req = TrainRequest(model=model, devices=devices, global_batch=devices * batch, tokens=1e9, stack=stack,
                       accelerator="h100-sxm5-80gb", **knobs)
    estimate.clear_choices()
    result = api.train(req)
    named = [a.split()[1] for a in result.advice if a.startswith("stack ")]
    expected = _reference_stack(req, result)
    assert named == ([expected] if expected else [])
