"""Interleaved-pipeline activation memory on Llama 3 405B's 8K pre-training layout (LLAMA3T-02, issue #16).

Layout of arXiv:2407.21783 Table 4: 16,384 H100, tp 8, pp 16, dp 128, 16 sequences of 8,192 tokens per
data-parallel group (m = 16 = pp at micro-batch 1), no activation checkpointing (Sec. 3.3.2), stack
meta-llama3 (sequence parallel, flash attention, the "one layer fewer on the first and last stage" split).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flopwatt import catalog
from flopwatt.perf import memory
from flopwatt.perf.plans import Plans
from flopwatt.perf.training import evaluate_training
from flopwatt.specs import TrainingWorkload

SEQ = 8192


@pytest.fixture(scope="module")
def llama405():
    return catalog.get("models", "llama3.1-405b")


def _plans(vpp=1, tp=8, sp=True, recompute="none", micro_batch=1):
    return Plans.build(tp=tp, pp=16, dp=128, vpp=vpp, micro_batch=micro_batch, global_batch=2048,
                       zero_stage=2, recompute=recompute, sequence_parallel=sp)


def test_llama3_405b_layer_stores_65024_bytes_per_token_at_tp8_with_sequence_parallelism(llama405):
    """By hand, per token, 16-bit, h 16384, a 16384, kv 1024, f 53248, no dropout, flash attention:
    norm inputs 2 x 2h, QKV and MLP inputs 2 x 2h, Q 2a, K and V 2 x 2kv, attention output 2a,
    SwiGLU w1|w3 outputs 4f and w2 input 2f = 520,192 B; sequence parallelism divides all by tp 8."""
    stored, full = memory.activation_bytes_per_layer(llama405, np.array([SEQ]), _plans(), flash=True,
                                                     selective=True)
    assert stored[0] == full[0] == pytest.approx(SEQ * 65024.0, rel=1e-12)


@given(tp=st.sampled_from([2, 4, 8]), recompute=st.sampled_from(["none", "selective", "full"]))
def test_sequence_parallelism_divides_a_gqa_swiglu_layer_by_tp(tp, recompute):
    """Korthikanti et al. 2022 Sec. 4.2.2: with sequence parallelism no activation is replicated over the TP
    ranks, so one rank stores 1/tp of the unsharded layer (checked here beyond GPT shapes: GQA, gated MLP)."""
    model = catalog.get("models", "llama3.1-405b")
    seq = np.array([SEQ])
    one, _ = memory.activation_bytes_per_layer(model, seq, _plans(tp=1, sp=False, recompute=recompute), True)
    sharded, _ = memory.activation_bytes_per_layer(model, seq, _plans(tp=tp, recompute=recompute), True)
    assert sharded[0] * tp == pytest.approx(one[0], rel=1e-12)


@pytest.mark.parametrize(("vpp", "micro_batches_on_second_rank"), [(1, 15), (2, 16), (3, 16), (6, 16)])
def test_llama3_405b_second_rank_holds_its_8_layers_for_every_micro_batch_in_flight(
        llama405, vpp, micro_batches_on_second_rank):
    """The memory-setting rank is the second (8 layers; the first holds 7 and the embedding). 1F1B: pp - 1
    = 15 micro-batches there. Interleaved with m = pp: every micro-batch of every chunk is in flight before
    the first backward (Megatron-LM schedules.py forward_backward_pipelining_with_interleaving: all warm-up
    when num_microbatches == pipeline_parallel_size; otherwise (pp - rank - 1) x 2 + (v - 1) x pp warm-up
    chunks, capped at m x v), so interleaving costs this layout one micro-batch of 8 layers, no more."""
    stack = catalog.get("stacks", "meta-llama3")
    system = catalog.system_for("h100-sxm5-80gb")
    plans = _plans(vpp=vpp)
    result = evaluate_training(TrainingWorkload(model=llama405, seq_len=SEQ, precision="bf16"), system, plans,
                               stack, 16384)
    per_layer, _ = memory.activation_bytes_per_layer(llama405, np.array([SEQ]), plans, stack.flash_attention,
                                                     stack.selective_recompute, stack.selective_saves)
    expected = per_layer[0] * 8 * micro_batches_on_second_rank
    assert result.memory["memory/activations"][0] == pytest.approx(expected, rel=1e-12)


@given(pp=st.integers(2, 32), vpp=st.integers(2, 8), rounds=st.integers(1, 4))
def test_interleaving_never_holds_fewer_micro_batches_than_1f1b(pp, vpp, rounds):
    """Per rank, the interleaved warm-up (v pp + pp - 1 - 2 rank chunks of 1/v of the rank's layers) is at
    least 1F1B's pp - rank micro-batches, and never more than the m there are: interleaving shrinks the
    bubble, not the activations (first stage L (1 + (pp - 1) / (pp v)) layer-micro-batches against L under
    1F1B, Korthikanti et al. 2022 Sec. 4.2.3)."""
    one_f_one_b = Plans.build(tp=1, pp=pp, dp=1, vpp=1, micro_batch=1, global_batch=rounds * pp)
    interleaved = Plans.build(tp=1, pp=pp, dp=1, vpp=vpp, micro_batch=1, global_batch=rounds * pp)
    for rank in range(pp):
        base = float(memory.in_flight_micro_batches(one_f_one_b, rank)[0])
        more = float(memory.in_flight_micro_batches(interleaved, rank)[0])
        assert base <= more <= rounds * pp
