"""The busiest rank sets the step: sampling imbalance of experts and attention groups, and the slot context CV."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flopwatt import catalog
from flopwatt.perf import serving_balance as balance
from flopwatt.perf import serving_step as step
from flopwatt.perf.lengths import Lengths
from flopwatt.serve import _rates


def test_expected_max_of_normals_against_exact_values():
    """Blom's approximation against the exact expected maxima: 1/sqrt(pi) = 0.5642 at n = 2, 3/(2 sqrt(pi)) =
    0.8463 at 3, 1.0294 at 4, 1.4236 at 8 (tables of normal order statistics, e.g. Harter 1961); 0 for one."""
    z = balance.expected_max_standard_normal(np.array([1, 2, 3, 4, 8]))
    assert z[0] == 0.0
    assert z[1:] == pytest.approx([1 / np.sqrt(np.pi), 1.5 / np.sqrt(np.pi), 1.0294, 1.4236], rel=0.05)
    assert np.all(np.diff(balance.expected_max_standard_normal(np.arange(1, 300))) > 0)


def test_expert_rank_factor_hand_count():
    """1024 routed tokens, top-8 of 256 experts over 64 ranks: 128 rows a rank on average, sd sqrt(128 x 63/64);
    one rank or no tokens: no imbalance; more ranks than experts: the experts are the bins."""
    got = balance.busiest_expert_rank_factor(np.array([1024.0]), 8, 256, np.array([64.0]))[0]
    z64 = balance.expected_max_standard_normal(np.array([64]))[0]
    assert got == pytest.approx(1 + z64 * np.sqrt(128 * 63 / 64) / 128)
    assert balance.busiest_expert_rank_factor(np.array([1024.0, 0.0]), 8, 256, np.array([1.0, 64.0])).tolist() == [
        1.0, 1.0]
    many = balance.busiest_expert_rank_factor(np.array([64.0]), 2, 8, np.array([64.0]))
    assert many == pytest.approx(balance.busiest_expert_rank_factor(np.array([64.0]), 2, 8, np.array([8.0])))


@settings(max_examples=40, deadline=None)
@given(tokens=st.floats(1, 1e5), more=st.floats(1, 1e5), ranks=st.sampled_from([2, 8, 72, 256]))
def test_expert_imbalance_shrinks_with_more_tokens(tokens, more, ranks):
    a, b = balance.busiest_expert_rank_factor(np.array([tokens, tokens + more]), 8, 256, np.array([ranks, ranks]))
    assert a >= b >= 1.0


@settings(max_examples=40, deadline=None)
@given(seqs=st.floats(1, 4096), groups=st.integers(1, 300), more=st.integers(0, 300), cv=st.floats(0, 3))
def test_group_imbalance_grows_with_groups_and_spread(seqs, groups, more, cv):
    a, b = (balance.busiest_group_factor(np.array([seqs]), np.array([g]), cv)[0] for g in (groups, groups + more))
    assert 1.0 <= a <= b
    assert balance.busiest_group_factor(np.array([seqs]), np.array([1]), cv)[0] == 1.0


def test_slot_context_cv_of_fixed_lengths_and_of_a_spread():
    """Fixed lengths: c = in + U o, sd o / sqrt(12) over the mean in + o / 2. A spread of outputs widens it."""
    assert Lengths(128, 2048).slot_context_cv() == pytest.approx((2048 / np.sqrt(12)) / (128 + 1024))
    spread = Lengths(128, 2048, output_sq_tokens2=2 * 2048 ** 2)
    assert spread.slot_context_cv() > Lengths(128, 2048).slot_context_cv()


def test_moe_layer_runs_the_busiest_ranks_rows(monkeypatch):
    """DeepSeek-V3 over 64 expert ranks: the layer with the busiest rank's rows takes longer than with balanced
    ranks, most at few rows a rank, and streams the same weights (the same experts are touched)."""
    model = catalog.get("models", "deepseek-v3")
    rates = _rates(catalog.system_for("h800-sxm5-80gb"), "fp8")
    tokens, tp, ep = np.array([64.0, 4096.0]), np.array([1.0, 1.0]), np.array([64.0, 64.0])
    t, streamed = step.linear_time(model, rates, tokens, tp, 1.0, ep, tokens * 64)
    factor = balance.busiest_expert_rank_factor(tokens * 64, 8, 256, tp * ep)
    monkeypatch.setattr(balance, "busiest_expert_rank_factor", lambda routed, *_: np.ones_like(routed))
    t_even, streamed_even = step.linear_time(model, rates, tokens, tp, 1.0, ep, tokens * 64)
    assert np.all(t > t_even) and streamed == pytest.approx(streamed_even)
    assert factor[0] > factor[1] > 1.0
