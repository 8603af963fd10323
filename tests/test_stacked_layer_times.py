"""Layer times of several stacks in one call (perf/shape_grid.py ``_stacked_work``, compute.per_row): each stack's
rows of the stacked call are, bit for bit, what the stack's own ``bounds.shard_times`` call gives; stacks whose
contexts differ in a value that cannot be per row each get their own call."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flopwatt import catalog
from flopwatt.perf import bounds, shape_grid, stacked_rows
from flopwatt.perf.shape_grid import StackGrid
from flopwatt.perf.space import PlanRequest
from flopwatt.perf.training import search_context
from flopwatt.specs import TrainingWorkload

MODELS = ("llama3-8b", "llama3-70b", "mixtral-8x7b", "deepseek-v2", "bloom-176b")
SYSTEMS = ("dgx-h100", "dgx-a100-80gb", "gb200-nvl72", "mi300x-platform")


def _counting(monkeypatch) -> list[int]:
    """Rows of each bounds.shard_times call the grid makes."""
    calls: list[int] = []
    real = bounds.shard_times

    def counted(ctx, plans):
        calls.append(len(plans))
        return real(ctx, plans)

    monkeypatch.setattr(shape_grid.bounds, "shard_times", counted)
    return calls


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(model=st.sampled_from(MODELS), system=st.sampled_from(SYSTEMS), precision=st.sampled_from(("half", "fp8")),
       stacks=st.lists(st.sampled_from(sorted(catalog.stacks())), min_size=2, max_size=10, unique=True))
def test_each_stacks_rows_of_the_stacked_call_are_its_own(monkeypatch, model, system, precision, stacks):
    model, system = catalog.get("models", model), catalog.get("systems", system)
    if precision == "half" or "fp8" not in system.accelerator.peak_flops_per_s:
        precision = system.accelerator.half_precision()
    workload = TrainingWorkload(model=model, seq_len=4096, tokens=None, precision=precision)
    request = PlanRequest(devices=512, global_batch=1024)
    profiles = [catalog.get("stacks", s) for s in stacks]
    grid = StackGrid(workload, system, profiles, request)
    for stack in profiles:
        work = grid._shard_work(stack)
        ctx = search_context(workload, system, stack, request.devices)
        lt, logits = bounds.shard_times(ctx, grid.grid.shards)
        for name in shape_grid._TIMES:
            assert getattr(lt, name).tobytes() == work.times[name].tobytes(), (stack.id, name)
        assert logits.tobytes() == work.times["logits"].tobytes()


def test_stacks_that_differ_in_per_row_attributes_share_one_call(monkeypatch):
    model, system = catalog.get("models", "llama3-70b"), catalog.get("systems", "dgx-h100")
    workload = TrainingWorkload(model=model, seq_len=8192, tokens=None, precision="bf16")
    request = PlanRequest(devices=1000, global_batch=2000)
    base = catalog.get("stacks", "megatron-core")
    variants = [base, replace(base, id="unflashed", flash_attention=not base.flash_attention),
                replace(base, id="unfused", fused_elementwise=not base.fused_elementwise),
                replace(base, id="other-saves", selective_saves="every-other-matmul"
                        if base.selective_saves != "every-other-matmul" else "attention-core")]
    calls = _counting(monkeypatch)
    grid = StackGrid(workload, system, variants, request)
    works = [grid._shard_work(s) for s in variants]
    assert calls == [len(variants) * len(grid.grid.shards)]
    assert len({id(w) for w in works}) == len(variants)


def test_contexts_that_differ_in_a_shared_value_get_a_call_each(monkeypatch):
    """Where the contexts differ in a value that cannot be per row (here: as if none could), the stacked call is
    given up and each stack gets its own call, with its own numbers."""
    model, system = catalog.get("models", "llama3-8b"), catalog.get("systems", "dgx-h100")
    workload = TrainingWorkload(model=model, seq_len=4096, tokens=None, precision="bf16")
    request = PlanRequest(devices=64, global_batch=128)
    base = catalog.get("stacks", "megatron-core")
    other = replace(base, id="other-kernel", attention_kernel=None)
    calls = _counting(monkeypatch)
    real_per_row = stacked_rows._per_row

    def no_rows(values, rows, may_differ):  # as if no field could be per row
        return real_per_row(values, rows, False)

    monkeypatch.setattr(stacked_rows, "_per_row", no_rows)
    grid = StackGrid(workload, system, [base, replace(other, flash_attention=not base.flash_attention)], request)
    first = grid._shard_work(base)
    assert len(calls) == 2 and calls[0] == 2 * len(grid.grid.shards)  # the stacked try, then base's own
    ctx = search_context(workload, system, base, request.devices)
    lt, _ = bounds.shard_times(ctx, grid.grid.shards)
    assert np.array_equal(lt.forward, first.times["forward"])
