"""Activation memory against Korthikanti et al. 2022 (Sec. 4, Table 2) closed forms; ZeRO sharding."""

from __future__ import annotations

import numpy as np
import pytest

from flopwatt import catalog
from flopwatt.perf import memory
from flopwatt.perf.plans import Plans

S, B = 2048, 1


def _plans(tp, sp=False, recompute="none", dp=1, zero=0):
    return Plans.build(tp=tp, pp=1, dp=dp, micro_batch=B, global_batch=B * dp, recompute=recompute,
                       sequence_parallel=sp, zero_stage=zero)


@pytest.mark.parametrize("tp", [1, 2, 8])
def test_tensor_parallel_matches_korthikanti(gpt3, tp):
    h, a = gpt3.hidden, gpt3.heads
    stored, _ = memory.activation_bytes_per_layer(gpt3, np.array([S]), _plans(tp), flash=False)
    expected = S * B * h * (10 + 24 / tp + 5 * a * S / (h * tp))
    assert stored[0] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("tp", [2, 8])
def test_sequence_parallel_matches_korthikanti(gpt3, tp):
    h, a = gpt3.hidden, gpt3.heads
    stored, _ = memory.activation_bytes_per_layer(gpt3, np.array([S]), _plans(tp, sp=True), flash=False)
    assert stored[0] == pytest.approx(S * B * h * (34 / tp + 5 * a * S / (h * tp)), rel=1e-12)


def test_selective_and_full_recompute_match_korthikanti(gpt3):
    h, tp = gpt3.hidden, 8
    sel, _ = memory.activation_bytes_per_layer(gpt3, np.array([S]), _plans(tp, True, "selective"), flash=False)
    full, _ = memory.activation_bytes_per_layer(gpt3, np.array([S]), _plans(tp, True, "full"), flash=False)
    assert sel[0] == pytest.approx(S * B * h * 34 / tp, rel=1e-12)
    assert full[0] == pytest.approx(2 * S * B * h / tp, rel=1e-12)


def test_korthikanti_table_example_gpt3_sizes(gpt3):
    """Korthikanti Sec. 4: for GPT-3 175B (a=96, s=2048, h=12288) 5as/h = 80, dwarfing the 34."""
    assert 5 * gpt3.heads * S / gpt3.hidden == pytest.approx(80.0)


def test_zero_stages_shard_states_over_dp():
    params = np.full(4, 1e9)
    plans = Plans.build(tp=1, pp=1, dp=8, micro_batch=1, global_batch=8, zero_stage=[0, 1, 2, 3])
    states = memory.state_bytes(params, plans)
    total = sum(states.values())
    assert total[0] == pytest.approx(16e9)
    assert total[1] == pytest.approx(4e9 + 12e9 / 8)
    assert total[2] == pytest.approx(2e9 + 14e9 / 8)
    assert total[3] == pytest.approx(16e9 / 8)
    assert np.all(np.diff(total) < 0)


@pytest.mark.parametrize("loss_bytes", [1e6, 1e12])
def test_the_loss_and_the_rebuilt_layer_are_never_live_together(gpt3, loss_bytes):
    """Full recompute on one stage: every layer's input, plus the larger of the loss's peak and one layer
    rebuilt in the backward (the logits' gradient is freed before the last layer is recomputed)."""
    stack = catalog.get("stacks", "megatron-core")
    plans = Plans.build(tp=8, pp=1, dp=1, micro_batch=1, global_batch=1, recompute="full")
    seq = np.array([2048.0])
    stored, working = memory.activation_bytes_per_layer(gpt3, seq, plans, stack.flash_attention,
                                                        stack.selective_recompute, stack.selective_saves)
    peak = memory.stage_activation_bytes(gpt3, seq, plans, stack, np.array([96.0]), loss_bytes=loss_bytes)
    assert peak[0] == pytest.approx(96 * stored[0] + max(loss_bytes, working[0]))
