"""Megatron-Core's uneven pipeline split (first / middle / last stages) and what the planner makes of it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flopwatt import catalog
from flopwatt.perf import memory
from flopwatt.perf.feasibility import REASONS, structural_reasons
from flopwatt.perf.partition import first_last_split
from flopwatt.perf.plans import Plans
from flopwatt.perf.training import evaluate_training
from flopwatt.specs import TrainingWorkload


@given(layers=st.integers(1, 200), pp=st.integers(2, 64), vpp=st.integers(1, 8))
def test_a_valid_split_places_every_layer_in_multiples_of_vpp(layers, pp, vpp):
    s = {k: int(v[0]) for k, v in first_last_split(layers, np.array([pp]), np.array([vpp])).items()}
    if not s["ok"]:
        assert layers % vpp or pp * vpp > layers or s["first"] < vpp or s["last"] < vpp
        return
    assert s["first"] + (pp - 2) * s["middle"] + s["last"] == layers
    assert s["first"] % vpp == 0 and s["middle"] % vpp == 0 and s["last"] % vpp == 0
    assert s["first"] >= vpp and s["last"] >= vpp and (pp == 2 or s["middle"] >= vpp)
    # no split under Megatron-Core's rule (equal middle stages, counts in multiples of vpp) has a lighter busiest stage
    assert max(s["first"], s["middle"] if pp > 2 else 0, s["last"]) == _best_busiest(layers, pp, vpp)


def _best_busiest(layers: int, pp: int, vpp: int) -> int:
    """Brute force over every middle count and first/last split."""
    best = layers
    for middle in range(vpp if pp > 2 else 0, layers + 1, vpp):
        rest = layers - (pp - 2) * middle
        for first in range(vpp, rest, vpp):
            if rest - first >= vpp:
                best = min(best, max(first, middle, rest - first))
        if pp == 2:
            break
    return best


@given(layers=st.integers(2, 200), pp=st.integers(2, 64))
def test_without_interleaving_a_split_exists_whenever_each_stage_can_hold_a_layer(layers, pp):
    assert bool(first_last_split(layers, np.array([pp]), np.array([1]))["ok"][0]) == (pp <= layers)


def test_llama3_405b_on_16_stages_is_first_8_middle_8_last_6():
    s = first_last_split(126, np.array([16]), np.array([1]))
    assert (int(s["first"][0]), int(s["middle"][0]), int(s["last"][0])) == (8, 8, 6)


def test_megatron_core_accepts_126_layers_on_16_stages_and_older_megatron_does_not():
    model = catalog.models()["llama3.1-405b"]
    plans = Plans.build(tp=8, pp=16, dp=128, micro_batch=1, global_batch=2048)
    layers_pp = REASONS.index("layers_pp")
    assert structural_reasons(model, plans, catalog.stacks()["megatron-core"], 16384, 8192)[0] != layers_pp
    assert structural_reasons(model, plans, catalog.stacks()["megatron-lm-2024"], 16384, 8192)[0] == layers_pp
    # with interleaving, every stage's count must be a multiple of vpp: 126 = 2 * 63 splits, 126 / 4 does not
    four = Plans.build(tp=8, pp=16, dp=128, vpp=4, micro_batch=1, global_batch=2048)
    assert structural_reasons(model, four, catalog.stacks()["megatron-core"], 16384, 8192)[0] == layers_pp


def test_the_heaviest_stage_of_the_uneven_split_sets_weights_and_step_time():
    model = catalog.models()["llama3.1-405b"]
    system = catalog.get("systems", "dgx-h100")
    workload = TrainingWorkload(model=model, seq_len=8192)
    plans = Plans.build(tp=8, pp=16, dp=128, micro_batch=1, global_batch=2048, zero_stage=1,
                        sequence_parallel=True)
    result = evaluate_training(workload, system, plans, catalog.stacks()["megatron-core"], 16384)
    embedding = model.embedding_params(8192) - 2 * model.hidden
    eight_layers = (8 * model.layer_params() + embedding) / 8 * memory.WEIGHT_BYTES
    assert result.memory["memory/weights"][0] == pytest.approx(eight_layers)
    # the slowest of the 16 stages runs 8 layers: less compute per micro-batch than 14 stages of 9
    nine = Plans.build(tp=8, pp=14, dp=128, micro_batch=1, global_batch=2048, zero_stage=1, sequence_parallel=True)
    slower = evaluate_training(workload, system, nine, catalog.stacks()["megatron-core"], 14336)
    assert result.time["time/compute"][0] < slower.time["time/compute"][0]
