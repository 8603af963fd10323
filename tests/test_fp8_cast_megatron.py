"""FP8 cast traffic of Megatron-Core stacks with Transformer Engine (catalog ``[fp8_cast.te-mcore-*]``)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flopwatt import catalog
from flopwatt.catalog.efficiency import EfficiencyCatalog
from flopwatt.errors import InputError
from flopwatt.perf import flops as fl
from flopwatt.perf.compute import fp8_cast_times
from flopwatt.perf.training import search_context
from flopwatt.specs import TrainingWorkload

MODEL = catalog.get("models", "llama3-8b")
SYSTEM = catalog.system_for("h100-sxm5-80gb")


def _rates(stack: str, precision: str = "fp8"):
    workload = TrainingWorkload(model=MODEL, seq_len=8192, precision=precision)
    return search_context(workload, SYSTEM, catalog.get("stacks", stack), 8).rates


def _shard(seq: float, batch: int, tp: int) -> fl.Shard:
    return fl.Shard(seq=np.array([seq]), batch=np.array([batch]), tp=np.array([tp]))


def test_megatron_stacks_have_their_te_recipe_and_bf16_runs_none():
    assert _rates("nemo-2024").fp8_cast.norm_fused_input_backward == 2.0  # delayed: norm writes FP8
    assert _rates("megatron-bridge").fp8_cast.norm_fused_input_backward is None  # current: amax first
    assert _rates("megatron-bridge", "bf16").fp8_cast is None


@settings(max_examples=30, deadline=None)
@given(batch=st.integers(1, 4), more=st.integers(2, 4), stack=st.sampled_from(["nemo-2024", "megatron-bridge"]))
def test_cached_fp8_weights_make_cast_traffic_proportional_to_tokens(batch, more, stack):
    """Megatron-Core passes is_first_microbatch: TE casts the weights once per step, not per micro-batch, so a
    micro-batch's cast bytes scale with its tokens alone (torchao, which recasts weights, does not)."""
    rates, off = _rates(stack), np.array([False])
    one = fp8_cast_times(MODEL, _shard(8192, batch, 1), off, rates)[2][0]
    many = fp8_cast_times(MODEL, _shard(8192, batch * more, 1), off, rates)[2][0]
    assert many == pytest.approx(more * one)
    ao = _rates("torchtitan")
    ao_one = fp8_cast_times(MODEL, _shard(8192, batch, 1), off, ao)[2][0]
    assert fp8_cast_times(MODEL, _shard(8192, batch * more, 1), off, ao)[2][0] < more * ao_one


def test_norm_fused_inputs_cost_only_their_backward_transpose():
    """nemo-2024 forward casts only the inputs of the attention projection and the MLP down-projection (4 B each);
    the backward adds the 2 B transpose of the gathered QKV and MLP-up inputs, whatever the sequence sharding."""
    rates, shard = _rates("nemo-2024"), _shard(8192, 8, 4)  # large enough to clear the launch floor
    ops = fl.linear_operands(MODEL, shard)
    row_inputs = sum(float(i[0]) * c for name, (i, _, _, c) in ops.items() if name not in fl.COLUMN_PARALLEL)
    fwd_bytes = fp8_cast_times(MODEL, shard, np.array([True]), rates)[2][0]
    assert fwd_bytes == pytest.approx(4.0 * row_inputs)
    on = fp8_cast_times(MODEL, shard, np.array([True]), rates)[1][0]
    off = fp8_cast_times(MODEL, shard, np.array([False]), rates)[1][0]
    expected = 0.0
    for name, (i, _, o, c) in ops.items():
        moved = 4.0 * o * (0.25 if name in fl.ROW_PARALLEL else 1.0) + (2.0 * i if name in fl.COLUMN_PARALLEL else 0.0)
        expected += c * float(rates.memory_time(moved)[0])
    assert on == pytest.approx(expected)
    assert off > on  # without sequence parallelism the row-parallel output gradients are cast whole


def test_current_scaling_moves_more_than_delayed_scaling():
    """FP8-CS reads each tensor twice (amax, then cast) and cannot fuse into the norm (TE current-scaling docs)."""
    shard, off = _shard(8192, 1, 1), np.array([False])
    cs = fp8_cast_times(MODEL, shard, off, _rates("megatron-bridge"))
    ds = fp8_cast_times(MODEL, shard, off, _rates("nemo-2024"))
    assert cs[0][0] > ds[0][0] and cs[1][0] > ds[1][0]


@pytest.mark.parametrize("bad", [-1.0, 2])
def test_malformed_norm_fusion_is_named(bad):
    data = catalog.read_toml("efficiency.toml", "catalog efficiency.toml")
    entry = {**data["fp8_cast"]["te-mcore-delayed"], "norm_fused_input_backward": bad}
    with pytest.raises(InputError, match="te-mcore-delayed.norm_fused_input_backward"):
        EfficiencyCatalog.from_dict({**data, "fp8_cast": {"te-mcore-delayed": entry}})
