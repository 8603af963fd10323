"""estimate_best reports the chosen plan's evaluation from the search that found it (issue 22): the same numbers,
bit for bit, as evaluating the plan alone, and as a later request for the same space with other tokens gets
(from the cached search and a fresh evaluation) - over random models, systems, stacks and requests."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flopwatt import catalog, estimate
from flopwatt.perf.space import PlanRequest
from flopwatt.perf.training import TrainingResult, evaluate_training
from flopwatt.specs import TrainingWorkload

MODELS = ("gpt3-1.3b", "llama3-8b", "llama3-70b", "mixtral-8x7b", "deepseek-v2", "gpt3-175b")
SYSTEMS = ("dgx-h100", "dgx-a100-80gb", "gb200-nvl72", "mi300x-platform", "tpu-v5p-slice", "dgx-b200")


def _columns(result: TrainingResult) -> dict[str, bytes]:
    """Every array of a result, as bytes (bit-for-bit comparison, NaN included)."""
    out = {"reason": result.reason.tobytes()}
    for group in ("time", "memory", "metrics", "traffic"):
        for key, value in getattr(result, group).items():
            out[f"{group}:{key}"] = np.asarray(value, dtype=float).tobytes()
    for name in ("tp", "pp", "dp", "cp", "ep", "vpp", "micro_batch", "global_batch", "zero_stage", "recompute",
                 "recompute_layers", "sequence_parallel"):
        out[f"plan:{name}"] = np.asarray(getattr(result.plans, name)).tobytes()
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=st.sampled_from(MODELS), system=st.sampled_from(SYSTEMS),
       stack=st.sampled_from(sorted(catalog.stacks())), devices=st.sampled_from((8, 64, 96, 256, 1000)),
       per_device=st.sampled_from((1, 2, 4)), knobs=st.sampled_from(({}, {"recompute": "full"}, {"micro_batch": 1})),
       tokens=st.sampled_from((1e9, 3.3e11, 1e13)))
def test_the_searched_evaluation_is_the_plan_evaluated_alone(model, system, stack, devices, per_device, knobs,
                                                             tokens):
    model, system, stack = catalog.get("models", model), catalog.get("systems", system), catalog.get("stacks", stack)
    workload = TrainingWorkload(model=model, seq_len=4096, tokens=tokens,
                                precision=system.accelerator.half_precision())
    request = PlanRequest(devices=devices, global_batch=devices * per_device, **knobs)
    estimate.clear_choices()
    searched = estimate.estimate_best(workload, system, stack, request)  # a fresh search: its own row
    if searched.result is None:
        return
    alone = evaluate_training(workload, system, searched.choice.plan, stack, devices)
    assert _columns(searched.result) == _columns(alone)
    cached = estimate.estimate_best(workload, system, stack, request)  # the cached search: the plan alone
    assert _columns(cached.result) == _columns(alone)
    other = TrainingWorkload(model=model, seq_len=4096, tokens=tokens * 7, precision=workload.precision)
    warm = estimate.estimate_best(other, system, stack, request)
    estimate.clear_choices()
    fresh = estimate.estimate_best(other, system, stack, request)
    assert _columns(warm.result) == _columns(fresh.result)
    assert warm.choice == fresh.choice
