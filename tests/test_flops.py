"""FLOP counts against closed forms (Narayanan et al. 2021 eq. 3) and hand counts (GQA, SwiGLU)."""

from __future__ import annotations

import numpy as np
import pytest

from flopwatt import catalog
from flopwatt.perf import flops as fl
from flopwatt.specs import ModelSpec

GPT_SHAPES = [(24, 2304, 24), (96, 12288, 96), (105, 20480, 128), (128, 25600, 160)]


@pytest.mark.parametrize(("layers", "hidden", "heads"), GPT_SHAPES)
def test_full_recompute_step_flops_equal_narayanan_eq3(layers, hidden, heads):
    model = ModelSpec(id="g", name="g", layers=layers, hidden=hidden, ffn_hidden=4 * hidden, heads=heads,
                      kv_heads=heads, vocab=51200, source="test", retrieved="-")
    batch, seq = np.array([1536]), 2048
    model_flops = fl.model_flops_per_step(model, seq, batch)
    recompute = fl.recompute_flops_per_step(model, seq, batch, np.array([2]))
    expected = fl.narayanan_eq3_flops(1536, seq, layers, hidden, 51200)
    assert (model_flops + recompute)[0] == pytest.approx(expected, rel=1e-12)


def test_model_flops_equal_korthikanti_eq7_for_gpt():
    """Korthikanti et al. 2022 eq. 7 (model FLOPs, no recompute): 72 B L s h^2 (1 + s/6h + V/12hL)."""
    model = catalog.get("models", "gpt3-175b")
    b, s, layers, h, v = 8, 2048, 96, 12288, 51200
    expected = 72 * b * layers * s * h**2 * (1 + s / (6 * h) + v / (12 * h * layers))
    assert fl.model_flops_per_step(model, 2048, np.array([8]))[0] == pytest.approx(expected, rel=1e-12)


def test_gqa_swiglu_layer_flops_hand_count():
    """Llama-2-70B shape: h 8192, 64 query heads, 8 KV heads (head 128), SwiGLU f 28672."""
    model = catalog.get("models", "llama2-70b")
    s, b, h, f = 4096, 1, 8192, 28672
    kv = 8 * 128
    hand = {
        "qkv": 2 * s * h * (h + 2 * kv),
        "scores": 2 * s * s * h,
        "attn_v": 2 * s * s * h,
        "proj": 2 * s * h * h,
        "mlp_up": 2 * s * h * 2 * f,
        "mlp_down": 2 * s * f * h,
    }
    got = fl.layer_gemms(model, fl.Shard(seq=np.array([s]), batch=np.array([b]), tp=np.array([1])), 2.0)
    for name, flops in hand.items():
        assert got[name][0][0] == pytest.approx(flops, rel=1e-12), name


def test_tensor_parallel_splits_flops_evenly():
    model = catalog.get("models", "gpt3-175b")
    one = fl.layer_gemms(model, fl.Shard(seq=np.array([2048]), batch=np.array([2]), tp=np.array([1])), 2.0)
    eight = fl.layer_gemms(model, fl.Shard(seq=np.array([2048]), batch=np.array([2]), tp=np.array([8])), 2.0)
    for name in one:
        assert eight[name][0][0] == pytest.approx(one[name][0][0] / 8, rel=1e-12)


def test_selective_recompute_adds_only_attention_core():
    model = catalog.get("models", "gpt3-175b")
    gb = np.array([16])
    selective = fl.recompute_flops_per_step(model, 2048, gb, np.array([1]))[0]
    assert selective == pytest.approx(16 * 96 * 4 * 2048**2 * 12288, rel=1e-12)
    assert fl.recompute_flops_per_step(model, 2048, gb, np.array([0]))[0] == 0
