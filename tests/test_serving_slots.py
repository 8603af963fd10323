"""The wait for a free sequence slot under Poisson arrivals (flopwatt.perf.serving_slots)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flopwatt import catalog, serve
from flopwatt.perf import serving_slots as slots
from flopwatt.perf.serving import ServingPlans, evaluate_serving
from flopwatt.serve import ServeRequest


def test_erlang_c_matches_its_closed_forms_at_one_and_two_slots():
    """One slot: P(wait) = rho. Two slots at a = 1: (a^2 / 2)(2 / (2 - a)) / (1 + a + that) = 1 / 3."""
    assert slots.probability_of_waiting(np.array([0.3, 0.7]), np.array([1, 1])) == pytest.approx([0.3, 0.7])
    assert slots.probability_of_waiting(np.array([1.0]), np.array([2]))[0] == pytest.approx(1 / 3)


def test_halfin_whitt_limit_is_close_to_the_exact_erlang_c_where_they_meet():
    """At the switch (EXACT_SLOTS) the limit and the exact value agree within a few hundredths."""
    c = float(slots.EXACT_SLOTS)
    for offered in (0.85 * c, 0.93 * c, 0.98 * c):
        exact = slots.probability_of_waiting(np.array([offered]), np.array([c]))[0]
        limit = slots._erlang_c_many(np.array([offered]), np.array([c]))[0]
        assert limit == pytest.approx(exact, abs=0.03)


@settings(max_examples=60, deadline=None)
@given(cap=st.integers(1, 4096), share=st.floats(0.05, 0.95))
def test_waiting_grows_with_the_load_and_is_a_probability(cap, share):
    low, high = slots.probability_of_waiting(np.array([share * cap, min(share + 0.04, 0.99) * cap]),
                                             np.array([cap, cap]))
    assert 0.0 <= low <= high <= 1.0


def test_the_wait_quantile_is_the_mmc_tail_and_infinite_at_the_cap():
    """P(W > t) = C exp(-(c - a) t / E[T]): the 0.99 quantile is ln(C / 0.01) E[T] / (c - a)."""
    c, a, hold = 1024.0, 990.0, 30.0
    waiting = slots.probability_of_waiting(np.array([a]), np.array([c]))[0]
    got = slots.slot_wait_quantile_s(np.array([a]), np.array([c]), np.array([hold]), 0.99)[0]
    assert got == pytest.approx(np.log(waiting / 0.01) * hold / (c - a))
    assert slots.slot_wait_quantile_s(np.array([0.5 * c]), np.array([c]), np.array([hold]), 0.99)[0] == 0.0
    assert np.isinf(slots.slot_wait_quantile_s(np.array([c]), np.array([c]), np.array([hold]), 0.99)[0])


def _load_share(cap: int | None, batch: int, ttft_s: float | None = 2.0) -> float:
    """Admitted share of full load of llama2-70b in FP8 on one H200 (8 replicas) at ``batch`` sequences, 2 s TTFT
    and 200 ms TPOT at p99, under a sequence cap of ``cap`` per scheduler."""
    req = ServeRequest(model=catalog.get("models", "llama2-70b"), system=catalog.system_for("h200-sxm-141gb"),
                       devices=8, input_len=222.0, output_len=290.0, precision="fp8", ttft_slo_s=ttft_s,
                       tpot_slo_s=None if ttft_s is None else 0.2, slo_percentile=99.0, max_batch=cap)
    hardware, element_bytes, slo = serve._setup(req)
    one = np.ones(1)
    plans = ServingPlans(tp=one, pp=one, batch=np.array([float(batch)]))
    result = evaluate_serving(req.model, hardware, req.devices, plans, lengths=req.lengths,
                              element_bytes=element_bytes, slo=slo, engine=req.engine)
    return float(result.metrics["load_share"][0])


def test_a_server_at_its_sequence_cap_offers_a_few_per_cent_less_than_full_load():
    """Short prompts never queue for prefill (full load without a cap), but at the cap Poisson arrivals find every
    slot taken: the admitted share falls below 1 by about sqrt(c) sequences of the c slots; far below the cap, or
    without a TTFT target (offline), nothing changes."""
    cap = 400
    assert _load_share(None, cap) == 1.0
    at_cap = _load_share(cap, cap)
    assert 1.0 - 3.0 / np.sqrt(cap) < at_cap < 1.0 - 0.5 / np.sqrt(cap)
    assert _load_share(2 * cap, cap) == 1.0
    assert _load_share(cap, cap, ttft_s=None) == 1.0
