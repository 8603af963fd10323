"""perf/shape_grid.py (issue 22): the shape bounds of many stacks from one shared grid are each stack's own
``bounds.shape_bounds``, bit for bit; the grid-wide bounds never exceed them; and the layer times are shared only
between stacks that agree on every attribute the computation read."""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flopwatt import catalog
from flopwatt.errors import InputError
from flopwatt.perf import bounds
from flopwatt.perf.shape_grid import CONTEXT_ONLY_READS, StackGrid, loose_least
from flopwatt.perf.space import PlanRequest, batch_mask, shape_superset
from flopwatt.perf.training import search_context
from flopwatt.specs import TrainingWorkload

MODELS = ("gpt3-1.3b", "llama3-8b", "llama3-70b", "mixtral-8x7b", "qwen3-30b-a3b", "deepseek-v2", "bloom-176b")
SYSTEMS = ("dgx-h100", "dgx-a100-80gb", "gb200-nvl72", "mi300x-platform", "tpu-v5p-slice", "gaudi3-node")
BATCHES = (1, 3, 48, 1000, 4096)


@st.composite
def requests(draw):
    model = catalog.get("models", draw(st.sampled_from(MODELS)))
    system = catalog.get("systems", draw(st.sampled_from(SYSTEMS)))
    devices = draw(st.sampled_from((8, 16, 96, 128, 512, 1000)))
    batch = draw(st.sampled_from((1, 2, 4))) * devices if draw(st.booleans()) else draw(st.integers(1, 4096))
    knobs = draw(st.sampled_from(({}, {"micro_batch": 2}, {"tp": 2}, {"pp": 4}, {"recompute": "full"}, {"vpp": 2})))
    workload = TrainingWorkload(model=model, seq_len=draw(st.sampled_from((2048, 8192))), tokens=None,
                                precision=system.accelerator.half_precision())
    try:
        request = PlanRequest(devices=devices, global_batch=batch, **knobs)
    except InputError:
        request = PlanRequest(devices=devices, global_batch=batch)
    stacks = draw(st.lists(st.sampled_from(sorted(catalog.stacks().values(), key=lambda s: s.id)), min_size=1,
                           max_size=8, unique_by=lambda s: s.id))
    return workload, system, stacks, request


def _rows(terms: bounds.ShapeBounds) -> list[tuple]:
    """The shapes' terms as a sorted list (the order of the shapes is not part of a least bound), bit for bit."""
    columns = (terms.replica, terms.micro_batch, np.asarray(terms.bubble, dtype=float), np.asarray(terms.stage))
    return sorted(zip(*(np.asarray(c).tolist() if c.dtype.kind in "iu" else [x.tobytes() for x in c]
                        for c in columns), strict=True))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests())
def test_each_stacks_bounds_from_the_grid_are_its_own_and_the_grid_wide_ones_lower(case):
    workload, system, stacks, request = case
    grid = StackGrid(workload, system, stacks, request)
    for stack in stacks:
        superset = shape_superset(request, workload.model, stack, system)
        own = bounds.shape_bounds(workload, system, stack, superset, request.devices, request.micro_batch is None)
        shared = grid.shape_bounds(stack)
        assert _rows(shared) == _rows(own)
        loose = grid.grid_bounds(stack)
        for batch in {request.global_batch, *BATCHES}:
            assert shared.least(batch) == own.least(batch) or (np.isnan(shared.least(batch))
                                                               and np.isnan(own.least(batch)))
            assert not loose.least(batch) > own.least(batch)


def test_layer_times_are_shared_only_between_stacks_that_read_alike():
    model, system = catalog.get("models", "llama3-70b"), catalog.get("systems", "dgx-h100")
    workload = TrainingWorkload(model=model, seq_len=8192, tokens=None, precision="bf16")
    request = PlanRequest(devices=64, global_batch=128)
    base = catalog.get("stacks", "megatron-core")
    renamed = replace(base, id="renamed-core")  # differs only in what the layer times never read
    unflashed = replace(base, id="unflashed-core", flash_attention=not base.flash_attention)
    grid = StackGrid(workload, system, [base, renamed, unflashed], request)
    works = [grid._shard_work(s) for s in (base, renamed, unflashed)]
    assert "flash_attention" in works[0].seen and "id" not in works[0].seen
    assert works[0] is works[1] and works[2] is not works[0]
    own = bounds.shape_bounds(workload, system, unflashed, shape_superset(request, model, unflashed, system),
                              request.devices, True)
    assert grid.shape_bounds(unflashed).least(128) == own.least(128)


def test_an_attribute_the_context_reads_for_one_field_sets_only_that_field():
    """CONTEXT_ONLY_READS: flipping the attribute changes no other field of the search context, for every stack,
    so stacks that differ in it share layer times that never read that field."""
    model, system = catalog.get("models", "llama3-70b"), catalog.get("systems", "dgx-h100")
    for precision in ("bf16", "fp8"):
        workload = TrainingWorkload(model=model, seq_len=8192, tokens=None, precision=precision)
        for stack in catalog.stacks().values():
            for name, field in CONTEXT_ONLY_READS.items():
                flipped = replace(stack, **{name: not getattr(stack, name)})
                a, b = (search_context(workload, system, s, 1024) for s in (stack, flipped))
                for f in fields(a):
                    if f.name not in (field, "stack"):
                        assert getattr(a, f.name) == getattr(b, f.name), (stack.id, name, f.name)
    base = catalog.get("stacks", "megatron-core")
    flipped = replace(base, id="fp32-reduce-core", bf16_grad_reduce_fp32=not base.bf16_grad_reduce_fp32)
    workload = TrainingWorkload(model=model, seq_len=8192, tokens=None, precision="bf16")
    grid = StackGrid(workload, system, [base, flipped], PlanRequest(devices=64, global_batch=128))
    assert grid._shard_work(base) is grid._shard_work(flipped)
    own = bounds.shape_bounds(workload, system, flipped, shape_superset(PlanRequest(devices=64, global_batch=128),
                              model, flipped, system), 64, True)
    assert _rows(grid.shape_bounds(flipped)) == _rows(own)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests())
def test_the_stacked_loose_least_is_each_stacks_own(case):
    """loose_least (one mask per grid, the terms stacked) gives, bit for bit, each stack's grid-wide least where the
    stack has a shape of the batch and -inf where it has none, also for bounds kept from two grids."""
    workload, system, stacks, request = case
    grids = [StackGrid(workload, system, stacks, request), StackGrid(workload, system, stacks[::-1], request)]
    loose = [grid.grid_bounds(stack) for grid in grids for stack in stacks]
    for batch in {request.global_batch, *BATCHES}:
        expected = []
        for b in loose:
            terms = b.terms
            own = batch_mask(terms.replica[b.rows], terms.micro_batch[b.rows], batch, terms.open_micro_batch)
            expected.append(terms.least(batch) if own.any() else -np.inf)
        got = loose_least(loose, batch)
        assert [np.float64(x).tobytes() for x in got] == [np.float64(x).tobytes() for x in expected]
