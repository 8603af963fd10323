"""Context-parallel KV exchange (perf/context_parallel.py): ring vs torchtitan's all-gather."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flopwatt import catalog
from flopwatt.errors import InputError
from flopwatt.perf.context_parallel import cp_layer_time
from flopwatt.perf.plans import Plans
from flopwatt.perf.training import search_context
from flopwatt.specs import TrainingWorkload

MODEL = catalog.get("models", "llama3-8b")
SYSTEM = catalog.system_for("h100-sxm5-80gb")


def _ctx(exchange: str, seq: int, devices: int):
    stack = dataclasses.replace(catalog.get("stacks", "torchtitan"), cp_kv_exchange=exchange)
    return search_context(TrainingWorkload(model=MODEL, seq_len=seq, precision="bf16"), SYSTEM, stack, devices)


def _exchange(exchange: str, seq: int, cp: int, tp: int, core: float):
    ctx = _ctx(exchange, seq, cp * tp)
    plans = Plans.build(tp=tp, pp=1, dp=1, cp=cp, micro_batch=1, global_batch=1, recompute="none")
    local = np.full(1, seq / cp)
    return cp_layer_time(ctx, plans, local, np.full(1, core), np.full(1, 2 * core))


def test_torchtitan_all_gathers():
    assert catalog.get("stacks", "torchtitan").cp_kv_exchange == "allgather"
    assert catalog.get("stacks", "megatron-core").cp_kv_exchange == "ring"
    with pytest.raises(InputError, match="stack torchtitan.cp_kv_exchange"):
        dataclasses.replace(catalog.get("stacks", "torchtitan"), cp_kv_exchange="alltoall")


@settings(max_examples=30, deadline=None)
@given(seq=st.sampled_from([8192, 32768, 131072]), cp=st.sampled_from([2, 4, 8, 16]),
       tp=st.sampled_from([1, 2, 8]), core=st.floats(1e-5, 1.0))
def test_all_gather_hides_less_than_the_ring_and_moves_the_same_bytes(seq, cp, tp, core):
    ring_time, ring_bytes = _exchange("ring", seq, cp, tp, core)
    ag_time, ag_bytes = _exchange("allgather", seq, cp, tp, core)
    assert ag_bytes[0] == pytest.approx(ring_bytes[0])
    assert ag_time[0] >= ring_time[0] * (1 - 1e-9) - 1e-12


def test_an_exchange_longer_than_the_local_sub_attention_is_exposed():
    """Across nodes (cp x tp beyond a node), a core longer than the exchange but its 1/cp share shorter: the ring
    hides the exchange (only the collective's compute slowdown shows), the all-gather does not."""
    core = 4e-4
    ring, _ = _exchange("ring", 32768, 4, 8, core)
    gathered, _ = _exchange("allgather", 32768, 4, 8, core)
    assert gathered[0] > ring[0]


def test_no_context_parallelism_no_exchange():
    t, b = _exchange("allgather", 8192, 1, 1, 1e-3)
    assert t[0] == 0.0 and b[0] == 0.0
