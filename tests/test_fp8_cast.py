"""FP8 cast traffic of dynamically scaled linear layers (catalog ``[fp8_cast]``, perf/compute.py fp8_cast_times)."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flopwatt import catalog
from flopwatt.catalog.efficiency import EfficiencyCatalog
from flopwatt.errors import InputError
from flopwatt.perf import flops as fl
from flopwatt.perf.compute import fp8_cast_times, layer_times
from flopwatt.perf.training import search_context
from flopwatt.specs import TrainingWorkload

MODEL = catalog.get("models", "llama3-8b")
SYSTEM = catalog.system_for("h100-sxm5-80gb")


def _rates(stack: str, precision: str = "fp8"):
    workload = TrainingWorkload(model=MODEL, seq_len=8192, precision=precision)
    return search_context(workload, SYSTEM, catalog.get("stacks", stack), 8).rates


def _shard(seq: float, batch: int, tp: int) -> fl.Shard:
    return fl.Shard(seq=np.array([seq]), batch=np.array([batch]), tp=np.array([tp]))


def test_casts_apply_only_to_fp8_runs_of_a_listed_stack():
    assert _rates("torchtitan").fp8_cast is not None
    assert _rates("torchtitan", "bf16").fp8_cast is None
    assert _rates("megatron-core").fp8_cast is None  # TE fuses its casts: none recorded
    zero = fp8_cast_times(MODEL, _shard(8192, 2, 1), np.array([False]), _rates("megatron-core"))
    assert all(float(x[0]) == 0.0 for x in zero)


@settings(max_examples=40, deadline=None)
@given(seq=st.sampled_from([512.0, 2048.0, 8192.0]), batch=st.integers(1, 8), more=st.integers(2, 4))
def test_cast_time_grows_with_tokens_and_has_a_launch_floor(seq, batch, more):
    rates, off = _rates("torchtitan"), np.array([False])
    fwd, bwd, nbytes = fp8_cast_times(MODEL, _shard(seq, batch, 1), off, rates)
    fwd2, bwd2, nbytes2 = fp8_cast_times(MODEL, _shard(seq, batch * more, 1), off, rates)
    assert fwd2[0] > fwd[0] and bwd2[0] > bwd[0] and nbytes2[0] > nbytes[0]
    rule = rates.fp8_cast
    assert fwd[0] >= 4 * rule.kernels_forward * rule.kernel_floor_s  # four linear GEMMs per dense layer


def test_sequence_parallel_casts_the_hidden_stream_on_its_shard():
    """torchao's float8 TP casts before the all-gather: less to cast per rank with sequence parallelism."""
    rates = _rates("torchtitan")
    whole = fp8_cast_times(MODEL, _shard(8192, 4, 8), np.array([False]), rates)[2]
    sharded = fp8_cast_times(MODEL, _shard(8192, 4, 8), np.array([True]), rates)[2]
    assert sharded[0] < whole[0]


def test_casts_lengthen_the_layer_by_their_own_time():
    rates = _rates("torchtitan")
    stack, shard, sp = catalog.get("stacks", "torchtitan"), _shard(8192, 2, 1), np.array([False])
    with_casts = layer_times(MODEL, shard, sp, stack, rates)
    without = layer_times(MODEL, shard, sp, stack, dataclasses.replace(rates, fp8_cast=None))
    fwd, bwd, _ = fp8_cast_times(MODEL, shard, sp, rates)
    assert with_casts.forward[0] - without.forward[0] == pytest.approx(fwd[0])
    assert with_casts.backward[0] - without.backward[0] == pytest.approx(bwd[0])
    assert with_casts.weight_gradient[0] == pytest.approx(without.weight_gradient[0])


def test_published_float8_linear_speedups_are_reproduced():
    """torchao/float8/README.md (pytorch/ao@c1fa677) H100 fwd+bwd Float8Linear / bf16: 0.80 and 1.39."""
    path = Path(__file__).parents[1] / "bench" / "fp8_cast_overhead.py"
    spec = importlib.util.spec_from_file_location("fp8_cast_overhead", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rates = _rates("torchtitan")
    for m, k, n, published in bench.PUBLISHED:
        model = bench.linear_time(rates, m, k, n, low=False) / bench.linear_time(rates, m, k, n, low=True)
        assert model == pytest.approx(published, rel=0.15)
    small = bench.PUBLISHED[0]
    assert bench.linear_time(rates, *small[:3], low=True) > bench.linear_time(rates, *small[:3], low=False)


def _with_cast(**fields) -> dict:
    data = catalog.read_toml("efficiency.toml", "catalog efficiency.toml")
    entry = {**data["fp8_cast"]["torchao-tensorwise"], **fields}
    return {**data, "fp8_cast": {"torchao-tensorwise": entry}}


@pytest.mark.parametrize("bad", [{"input_forward": -1.0}, {"input_forward": 6},
                                 {"kernels_forward": 2.5}, {"source": None}])
def test_malformed_cast_entries_are_named(bad):
    data = _with_cast(**bad)
    if bad.get("source", "") is None:
        del data["fp8_cast"]["torchao-tensorwise"]["source"]
    with pytest.raises(InputError, match="fp8_cast.torchao-tensorwise"):
        EfficiencyCatalog.from_dict(data)


def test_delayed_scaling_moves_less_than_dynamic_scaling():
    """TE's cast_transpose (delayed scaling: no max_abs pass; both layouts in one kernel) against torchao's
    dynamic tensorwise casts, on the same layer: fewer bytes forward and backward."""
    te, ao = _rates("llm-foundry"), _rates("torchtitan")
    assert te.fp8_cast is not None and te.fp8_cast.weight_backward == 0.0
    shard, off = _shard(2048, 8, 1), np.array([False])
    te_f, te_b, _ = fp8_cast_times(MODEL, shard, off, te)
    ao_f, ao_b, _ = fp8_cast_times(MODEL, shard, off, ao)
    assert te_f[0] < ao_f[0] and te_b[0] < ao_b[0]


# Megatron-Core stacks with Transformer Engine (catalog [fp8_cast.te-mcore-*])

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
