"""Memory physics: expert states over the expert data-parallel group, per-rank pipeline activations, dropout."""

import dataclasses

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from flopwatt import catalog
from flopwatt.perf import memory
from flopwatt.perf.partition import rank_layers
from flopwatt.perf.plans import Plans


def _plans(**kw):
    base = {"tp": 1, "pp": 1, "dp": 8, "micro_batch": 1, "global_batch": 64}
    return Plans.build(**{**base, **kw})


@given(tp=st.sampled_from([1, 2, 4]), dp=st.sampled_from([8, 16, 64]), ep=st.sampled_from([1, 2, 8]),
       zero=st.integers(0, 3))
def test_expert_states_shard_over_tp_cp_dp_over_ep(tp, dp, ep, zero):
    plans = _plans(tp=tp, dp=dp, ep=ep, zero_stage=zero)
    dense_only = memory.state_bytes(np.array([1e9]), plans)
    experts = memory.state_bytes(np.array([2e9]), plans, expert_params=np.array([1e9]))
    edp = max(tp * dp / ep, 1)
    expected = 12.0 * 1e9 / (edp if zero >= 1 else 1)
    assert np.isclose(experts["optimizer"][0] - dense_only["optimizer"][0], expected)


def test_llama3_split_puts_one_layer_fewer_on_the_first_and_last_ranks():
    counts = rank_layers(126, "transformer-embedding", np.array([16]), np.array([1]), np.array([8.0]))
    assert (counts["first"][0], counts["middle"][0], counts["last"][0]) == (7, 8, 7)


@given(pp=st.integers(2, 32), vpp=st.integers(1, 4), m=st.integers(1, 64))
def test_later_ranks_hold_no_more_micro_batches_than_earlier_ones(pp, vpp, m):
    plans = _plans(pp=pp, vpp=vpp, dp=1, global_batch=m)
    held = [float(memory.in_flight_micro_batches(plans, r)[0]) for r in range(pp)]
    assert all(a >= b - 1e-12 for a, b in zip(held, held[1:], strict=False))
    assert np.isclose(held[0], min(pp * (1 + (pp - 1) / (pp * vpp)) if vpp > 1 else pp, m))  # Korthikanti 4.2.3


def test_a_model_without_dropout_stores_two_bytes_less_per_token_and_hidden_unit():
    llama = catalog.get("models", "llama3.1-8b")
    assert not llama.dropout
    with_masks = dataclasses.replace(llama, dropout=True)
    plans = _plans(recompute="none")
    seq = np.array([4096.0])
    stored = memory.activation_bytes_per_layer(llama, seq, plans, flash=True)[0]
    stored_masks = memory.activation_bytes_per_layer(with_masks, seq, plans, flash=True)[0]
    assert np.isclose(stored_masks[0] - stored[0], 2 * 4096 * llama.hidden)


def test_xla_states_shard_over_one_slice_not_across_slices():
    """MaxText (dcn_data_parallelism -1, dcn_fsdp_parallelism 1): slices are replicas, so two v5e-256 slices
    hold the same optimizer bytes per chip as one."""
    from flopwatt.perf.training import evaluate_training
    from flopwatt.specs import TrainingWorkload

    model, stack = catalog.get("models", "llama2-7b"), catalog.get("stacks", "maxtext")
    system = catalog.get("systems", "tpu-v5e-slice")
    work = TrainingWorkload(model=model, seq_len=2048, precision="bf16")
    optim = {}
    for chips in (256, 512):
        plans = Plans.build(tp=1, pp=1, dp=chips, micro_batch=1, global_batch=chips, zero_stage=3, recompute="full")
        optim[chips] = float(evaluate_training(work, system, plans, stack, chips).memory["memory/optimizer"][0])
    assert optim[512] == optim[256] > 0
