"""GEMM efficiency tables and the flash-attention kernel scale (catalog efficiency ``[gemm]``, ``[attention_kernel]``):
monotone in size, never above the peak, scale 1 where nothing is measured, and the attention core slower, the
linear layers unchanged, for a stack whose kernel falls further below cuBLAS on a device."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flopwatt import catalog
from flopwatt.catalog.efficiency import EfficiencyCatalog
from flopwatt.errors import InputError
from flopwatt.perf import flops as fl
from flopwatt.perf.compute import DeviceRates, layer_times

EFF = catalog.efficiency()
DEVICES = sorted(EFF.gemm)
KERNELS = [None, *sorted(EFF.attention_kernels)]


@settings(max_examples=60, deadline=None)
@given(acc=st.sampled_from(DEVICES), kernel=st.sampled_from(KERNELS),
       small=st.floats(1e3, 1e15), factor=st.floats(1.0, 1e4))
def test_attention_efficiency_is_monotone_in_size_and_below_the_peak(acc, kernel, small, factor):
    """table(F) x scale never decreases with the call's FLOPs and never exceeds 1 (the dense peak)."""
    table, scale = EFF.gemm_for(acc), EFF.attention_core_scale(kernel, acc)
    lo, hi = table(np.array([small]))[0] * scale, table(np.array([small * factor]))[0] * scale
    assert 0 < lo <= hi + 1e-15
    assert hi <= 1.0


def test_scale_is_one_where_nothing_is_measured():
    """The reference device, a device without a measured fraction, and a stack that names no kernel."""
    kernel = EFF.attention_kernels["flash-attention-2"]
    assert EFF.attention_core_scale("flash-attention-2", kernel.reference) == pytest.approx(1.0)
    assert EFF.attention_core_scale("flash-attention-2", "mi300x") == 1.0
    assert catalog.get("stacks", "megatron-core").attention_kernel is None
    assert EFF.attention_core_scale(None, "h100-sxm5-80gb") == 1.0


def test_stacks_name_their_kernel_and_an_unknown_name_is_an_error():
    """A stack states the kernel it runs (stacks.toml); a name efficiency.toml lacks is one clear error."""
    assert catalog.get("stacks", "torchtitan").attention_kernel == "flash-attention-2"
    with pytest.raises(InputError, match="attention_kernel"):
        EFF.attention_core_scale("flash-attention-9", "h100-sxm5-80gb")


def test_h100_scale_follows_the_published_fractions():
    """(0.374 / H100 plateau) / (0.73 / A100 plateau): FlashAttention-2 falls further below cuBLAS on Hopper."""
    h100, a100 = EFF.gemm_for("h100-sxm5-80gb"), EFF.gemm_for("a100-sxm4-80gb")
    expected = (0.374 / h100.efficiency.max()) / (0.73 / a100.efficiency.max())
    assert EFF.attention_core_scale(catalog.get("stacks", "torchtitan").attention_kernel,
                                    "h100-sxm5-80gb") == pytest.approx(expected)
    assert 0.5 < expected < 0.6


def _rates(scale: float) -> DeviceRates:
    acc = catalog.accelerators()["h100-sxm5-80gb"]
    return DeviceRates(peak_flops_per_s=acc.peak("bf16"), hbm_bandwidth_bytes_per_s=acc.hbm_bandwidth_bytes_per_s,
                       gemm_efficiency=EFF.gemm_for(acc.id), memory_efficiency=EFF.memory_for(acc.id), act_bytes=2.0,
                       overlap_slowdown=0.0, attention_core_scale=scale)


@settings(max_examples=30, deadline=None)
@given(seq=st.sampled_from([1024, 2048, 8192, 32768]), batch=st.integers(1, 8), scale=st.floats(0.2, 0.99))
def test_a_slower_kernel_slows_only_the_attention_core(seq, batch, scale):
    model = catalog.get("models", "llama3-8b")
    stack = catalog.get("stacks", "torchtitan")
    shard = fl.Shard(seq=np.array([float(seq)]), batch=np.array([batch]), tp=np.array([1]))
    fast = layer_times(model, shard, np.array([False]), stack, _rates(1.0))
    slow = layer_times(model, shard, np.array([False]), stack, _rates(scale))
    assert slow.attention_core[0] > fast.attention_core[0]
    assert slow.weight_gradient[0] == pytest.approx(fast.weight_gradient[0])  # the linear GEMMs
    assert slow.forward[0] - fast.forward[0] == pytest.approx(slow.attention_core[0] - fast.attention_core[0])
    # the compute part of the core scales by 1/scale, its memory floor does not: at most 1/scale slower
    assert slow.attention_core[0] <= fast.attention_core[0] / scale * (1 + 1e-9)


def test_without_flash_attention_the_scale_does_not_apply():
    model = catalog.get("models", "llama3-8b")
    stack = dataclasses.replace(catalog.get("stacks", "torchtitan"), flash_attention=False)
    shard = fl.Shard(seq=np.array([4096.0]), batch=np.array([2]), tp=np.array([1]))
    a = layer_times(model, shard, np.array([False]), stack, _rates(1.0))
    b = layer_times(model, shard, np.array([False]), stack, _rates(0.5))
    assert a.forward[0] == pytest.approx(b.forward[0])


def _with_kernel(**kernel) -> dict:
    data = catalog.read_toml("efficiency.toml", "catalog efficiency.toml")
    entry = {**data["attention_kernel"]["flash-attention-2"], **kernel}
    return {**data, "attention_kernel": {"flash-attention-2": entry}}


@pytest.mark.parametrize("bad", [{"reference": "tpu-v5p"},
                                 {"peak_fraction": {"a100-sxm4-80gb": 1.5}}, {"peak_fraction": {}}])
def test_malformed_kernel_entries_are_named(bad):
    with pytest.raises(InputError, match="attention_kernel.flash-attention-2"):
        EfficiencyCatalog.from_dict(_with_kernel(**bad))


@pytest.mark.parametrize("field", ["attention_kernel", "fp8_cast"])
def test_a_stack_names_its_tables_by_a_string(field):
    with pytest.raises(InputError, match=f"stack torchtitan.{field}"):
        dataclasses.replace(catalog.get("stacks", "torchtitan"), **{field: 3})
