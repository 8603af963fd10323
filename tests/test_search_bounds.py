"""The pruned plan search (perf/bounds.py): its step-time bound never exceeds the model's step time, and it
finds the exhaustive search's plan, figures and reason counts, over random requests, stacks and systems."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from flopwatt import catalog, estimate
from flopwatt.errors import InputError
from flopwatt.estimate import estimate_training
from flopwatt.perf import bounds, feasibility
from flopwatt.perf.space import PlanRequest, enumerate_plans, enumerate_shapes, shape_superset
from flopwatt.perf.training import evaluate_training, search_context
from flopwatt.specs import TrainingWorkload

MODELS = ("gpt3-1.3b", "llama3-8b", "llama3-70b", "gpt3-175b", "llama3.1-405b", "mixtral-8x7b", "qwen3-30b-a3b",
          "deepseek-v2", "megatron-gpt-18.4b", "bloom-176b")
SYSTEMS = ("dgx-a100-80gb", "hgx-a100-40gb", "dgx-h100", "hgx-h200", "dgx-b200", "gb200-nvl72", "mi300x-platform",
           "gaudi3-node", "dgx-2-v100", "tpu-v4-slice", "tpu-v5p-slice", "tpu-v5e-slice", "groqnode")
DEVICES = (8, 12, 16, 64, 96, 128, 256, 384, 512, 1000, 1024)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def searches(draw):
    """A workload, system, stack and request with some knobs fixed, others open (some admit no feasible plan)."""
    model = catalog.get("models", draw(st.sampled_from(MODELS)))
    system = catalog.get("systems", draw(st.sampled_from(SYSTEMS)))
    stack = draw(st.sampled_from(sorted(catalog.stacks().values(), key=lambda s: s.id)))
    devices = draw(st.sampled_from(DEVICES))
    batch = devices * draw(st.sampled_from((1, 2, 4))) if draw(st.booleans()) else draw(st.integers(1, 4096))
    precision = draw(st.sampled_from((system.accelerator.half_precision(), "fp8")))
    try:
        system.accelerator.peak(precision)
    except InputError:
        precision = system.accelerator.half_precision()
    knobs = {}
    if draw(st.booleans()):
        knobs["zero_stage"] = draw(st.sampled_from((0, 1, 3)))
    if draw(st.booleans()):
        knobs["recompute"] = draw(st.sampled_from(("none", "full")))
    if draw(st.booleans()):
        knobs["micro_batch"] = draw(st.sampled_from((1, 2, 4)))
    seq = draw(st.sampled_from((1024, 2048, 4096, 8192)))
    workload = TrainingWorkload(model=model, seq_len=seq, tokens=None, precision=precision)
    return workload, system, stack, PlanRequest(devices=devices, global_batch=batch, **knobs)


@SETTINGS
@given(searches())
def test_the_bound_never_exceeds_the_step_time(case):
    workload, system, stack, request = case
    plans = enumerate_plans(request, workload.model, stack, system)
    res = evaluate_training(workload, system, plans, stack, request.devices)
    valid = feasibility.structural_reasons(workload.model, plans, stack, request.devices, workload.seq_len) == 0
    ctx = search_context(workload, system, stack, request.devices)
    eff = catalog.efficiency()
    penalty = bounds._straggler_penalty(eff, system, request.devices)
    bound = bounds.step_time_lower_bound(ctx, plans.take(np.flatnonzero(valid)), penalty)
    step = res.metrics["step_time_s"][valid]
    assert np.all((bound <= step) | np.isnan(step)), (bound - step).max()


def _exhaustive(workload, system, stack, request, plans):
    est = estimate_training(workload, system, stack, request, plans=plans)
    step = est.result.metrics["step_time_s"]
    return est, (np.inf if est.best is None else float(step[est.best]))


@SETTINGS
@given(searches(), st.floats(0.5, 2.0))
def test_the_pruned_search_finds_the_exhaustive_plan_and_counts(case, cutoff_factor):
    workload, system, stack, request = case
    plans = enumerate_plans(request, workload.model, stack, system)
    assume(len(plans) > 0)  # an empty space is the explicit plan's, evaluated alone (estimate._search)
    est, best_step = _exhaustive(workload, system, stack, request, plans)
    found = bounds.pruned_search(workload, system, stack, plans, request.devices)
    assert found.best == est.best
    assert found.counts == est.infeasible_counts()
    assert found.feasible == int(est.result.feasible.sum())
    if est.best is not None:
        assert (found.step_time_s, found.mfu) == (best_step, float(est.result.metrics["mfu"][est.best]))
    else:
        assert found.step_time_s == np.inf
    cutoff = best_step * cutoff_factor if np.isfinite(best_step) else 1.0
    quick = bounds.pruned_search(workload, system, stack, plans, request.devices, cutoff=cutoff, counts=False)
    assert quick.best == (est.best if best_step <= cutoff else None)
    assert quick.counts is None and quick.evaluated <= max(len(plans), 1)
    if quick.best is not None:
        assert quick.step_time_s == best_step


def test_the_search_prunes_a_large_space_and_some_searches_find_nothing_feasible():
    """Not a timing: the 1,000-device Llama 3 70B space on H100 is settled with a fraction of it evaluated, and a
    space with no feasible plan (405B on 8 devices) is counted whole, every plan out of memory or refused."""
    stack = catalog.get("stacks", "megatron-core")
    system = catalog.get("systems", "dgx-h100")
    model = catalog.get("models", "llama3-70b")
    workload = TrainingWorkload(model=model, seq_len=8192, tokens=None, precision="bf16")
    request = PlanRequest(devices=1000, global_batch=2000)
    plans = enumerate_plans(request, model, stack, system)
    found = bounds.pruned_search(workload, system, stack, plans, 1000)
    assert found.best is not None and found.evaluated < len(plans) / 4
    big = TrainingWorkload(model=catalog.get("models", "llama3.1-405b"), seq_len=8192, tokens=None, precision="bf16")
    request = PlanRequest(devices=8, global_batch=64)
    plans = enumerate_plans(request, big.model, stack, system)
    est, _ = _exhaustive(big, system, stack, request, plans)
    found = bounds.pruned_search(big, system, stack, plans, 8)
    assert est.best is None and found.best is None and found.counts == est.infeasible_counts()
    assert found.counts.get("oom", 0) > 0 and found.feasible == 0


def _shape_set(plans) -> set:
    return set(zip(plans.tp.tolist(), plans.pp.tolist(), plans.dp.tolist(), plans.cp.tolist(), plans.vpp.tolist(),
                   plans.ep.tolist(), plans.micro_batch.tolist(), plans.sequence_parallel.tolist(), strict=True))


@SETTINGS
@given(searches())
def test_the_shapes_bound_is_at_most_every_plans_bound(case):
    """space.enumerate_shapes has each (layout, micro-batch, sequence-parallel) of the space once, and the least of
    their bounds (no recomputation, ZeRO 0) is at most every plan's bound: what lets the advice skip a space."""
    workload, system, stack, request = case
    plans = enumerate_plans(request, workload.model, stack, system)
    shapes = enumerate_shapes(request, workload.model, stack, system)
    assert _shape_set(shapes) == _shape_set(plans) and len(shapes) == len(_shape_set(shapes))
    assume(len(plans) > 0)
    ctx = search_context(workload, system, stack, request.devices)
    penalty = bounds._straggler_penalty(catalog.efficiency(), system, request.devices)
    least = bounds.space_lower_bound(workload, system, stack, shapes, request.devices)
    assert least <= np.min(bounds.step_time_lower_bound(ctx, plans, penalty))


@SETTINGS
@given(searches(), st.floats(0.5, 2.0))
def test_choose_below_gives_the_exhaustive_plan_at_or_below_the_cutoff(case, cutoff_factor):
    workload, system, stack, request = case
    estimate.clear_choices()
    whole = estimate.exhaustive_choice(workload, system, stack, request)
    cutoff = whole.step_time_s * cutoff_factor if np.isfinite(whole.step_time_s) else 1.0
    found = estimate.choose_below(workload, system, stack, request, cutoff)
    if whole.plan is None or whole.step_time_s > cutoff:
        assert found is None
    else:
        assert found is not None and found.plan.row(0) == whole.plan.row(0)
        assert (found.step_time_s, found.mfu) == (whole.step_time_s, whole.mfu)


@SETTINGS
@given(searches())
def test_the_shape_bounds_of_every_batch_give_each_batchs_least_bound(case):
    """bounds.ShapeBounds (kept per space of every global batch) gives space_lower_bound of one batch's shapes,
    bit for bit, for the request's batch and others (smaller, larger, not a multiple of the devices)."""
    workload, system, stack, request = case
    superset = shape_superset(request, workload.model, stack, system)
    terms = bounds.shape_bounds(workload, system, stack, superset, request.devices, request.micro_batch is None)
    for batch in {request.global_batch, 1, 3, 48, 1000, request.devices * 6, 5000}:
        other = replace(request, global_batch=batch)
        shapes = enumerate_shapes(other, workload.model, stack, system)
        assert terms.least(batch) == bounds.space_lower_bound(workload, system, stack, shapes, request.devices)
