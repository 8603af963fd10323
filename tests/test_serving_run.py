"""A finite benchmark run (perf/serving_run.py): the drain of the last sequences, against a direct simulation of
continuous batching, and its invariants; and the ``prompts`` setting of a serving estimate."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flopwatt import catalog
from flopwatt.errors import InputError
from flopwatt.perf import serving_run as run
from flopwatt.serve import ServeRequest, estimate_serving


def _rate(mean, cv, prompts, slots, fixed_s, per_seq_s, cap=None):
    """Run throughput of one replica whose cycle is ``fixed_s + per_seq_s x batch``."""
    levels = run.batch_levels(np.array([float(slots)]), np.array([1.0]))
    return run.run_tokens_per_s(mean, cv, cap, np.array([float(prompts)]), np.array([float(slots)]), levels,
                                fixed_s + per_seq_s * levels)[0]


def _simulated(mean, cv, prompts, slots, fixed_s, per_seq_s, runs=40, seed=0):
    """Continuous batching step by step: ``slots`` sequences at most, a waiting prompt taking each freed slot;
    gamma output lengths (whole tokens, at least 1); tokens over time, averaged over ``runs`` draws."""
    rng = np.random.default_rng(seed)
    rates = []
    for _ in range(runs):
        lengths = np.full(prompts, float(mean)) if cv == 0 else rng.gamma(1 / cv ** 2, mean * cv ** 2, prompts)
        lengths = np.maximum(np.round(lengths), 1.0)
        left, queue, time_s, tokens = lengths[:slots].copy(), list(lengths[slots:]), 0.0, 0.0
        while left.size:
            time_s += fixed_s + per_seq_s * left.size
            tokens += left.size
            left -= 1
            done = left <= 0
            left = left[~done]
            if queue and done.any():
                left = np.concatenate([left, queue[:int(done.sum())]])
                queue = queue[int(done.sum()):]
        rates.append(tokens / time_s)
    return float(np.mean(rates))


@pytest.mark.parametrize("mean, cv, prompts, slots, fixed_s, per_seq_s, draws", [
    (200, 1.0, 1000, 256, 0.02, 1e-4, 40),   # ShareGPT-like outputs, a KV-bound replica: several waves
    (200, 0.0, 1000, 256, 0.02, 1e-4, 1),    # fixed lengths: four waves, the last part-full
    (200, 1.0, 1000, 1024, 0.03, 2e-5, 40),  # every prompt admitted at once
    (1000, 0.3, 500, 64, 0.01, 1e-4, 10),
    (200, 1.0, 5000, 100, 0.02, 1e-4, 10),   # 50 waves: past the grid's WAVES, the rest at the steady rate
    (100, 0.8, 300, 2, 0.01, 1e-3, 10),
    (300, 0.6, 8192, 512, 0.02, 5e-5, 2),    # an offline run of 16 waves: the drain nearly vanishes
])
def test_run_rate_matches_a_simulation_of_continuous_batching(mean, cv, prompts, slots, fixed_s, per_seq_s, draws):
    analytic = _rate(mean, cv, prompts, slots, fixed_s, per_seq_s)
    simulated = _simulated(mean, cv, prompts, slots, fixed_s, per_seq_s, runs=draws)
    assert analytic == pytest.approx(simulated, rel=0.03)  # the longest output's spread over 40 draws: ~2.5 %


def test_fixed_lengths_in_whole_waves_keep_the_steady_rate():
    def cycle(batch):
        return 0.02 + 1e-4 * batch
    assert _rate(200, 0.0, 1024, 256, 0.02, 1e-4) == pytest.approx(256 / cycle(256), rel=0.005)
    # three full waves, then 232 sequences for the same 200 steps
    whole = 1000 * 200 / (3 * 200 * cycle(256) + 200 * cycle(232))
    assert _rate(200, 0.0, 1000, 256, 0.02, 1e-4) == pytest.approx(whole, rel=0.005)


@settings(max_examples=40, deadline=None)
@given(mean=st.floats(20, 4000), cv=st.floats(0.0, 1.5), prompts=st.integers(1, 20000), slots=st.integers(1, 2048),
       fixed_s=st.floats(1e-3, 0.1), per_seq_s=st.floats(0.0, 1e-3))
def test_a_run_never_beats_its_steady_state_and_generates_every_token(mean, cv, prompts, slots, fixed_s, per_seq_s):
    full = min(prompts, slots)
    assert _rate(mean, cv, prompts, slots, fixed_s, per_seq_s) <= full / (fixed_s + per_seq_s * full) * (1 + 1e-9)
    followed = min(prompts, run.WAVES * slots)  # the prompts the grid follows
    step = run.grid_step_tokens(mean, cv, followed, slots)
    pmf = run.length_pmf(mean, cv, step)
    busy, runs = run.occupancy(pmf, run.renewal_function(pmf, run.GRID_POINTS), followed, slots)
    assert busy.sum() == pytest.approx(followed * (pmf * np.arange(len(pmf))).sum(), rel=1e-3)
    assert np.all(busy <= full * (1 + 1e-6)) and np.all((runs >= 0) & (runs <= 1))


@settings(max_examples=30, deadline=None)
@given(mean=st.floats(50, 2000), cv=st.floats(0.1, 1.2), slots=st.integers(8, 1024))
def test_more_spread_longer_drain_and_more_prompts_shorter_share(mean, cv, slots):
    prompts = 4 * slots
    assert _rate(mean, cv + 0.2, prompts, slots, 0.02, 1e-5) < _rate(mean, cv, prompts, slots, 0.02, 1e-5)
    assert _rate(mean, cv, 40 * slots, slots, 0.02, 1e-5) > _rate(mean, cv, prompts, slots, 0.02, 1e-5)


def test_the_cap_shortens_the_drain():
    assert _rate(200, 1.0, 1000, 256, 0.02, 1e-4, cap=400) > _rate(200, 1.0, 1000, 256, 0.02, 1e-4)


def _request(**kw):
    base = dict(model=catalog.get("models", "llama3.1-8b"), system=catalog.system_for("h100-sxm5-80gb"), devices=1,
                input_len=215.0, output_len=195.0, precision="fp8", max_batch=256)
    return ServeRequest(**{**base, **kw})


def test_a_finite_run_reports_its_share_of_the_steady_state():
    steady = estimate_serving(_request())["metrics"]
    whole = estimate_serving(_request(prompts=1000))["metrics"]
    assert whole["output_tokens_per_s"] <= steady["output_tokens_per_s"] * (1 + 1e-9)
    assert whole["run_share"] == pytest.approx(whole["output_tokens_per_s"] / whole["steady_output_tokens_per_s"])
    assert 0.9 < whole["run_share"] <= 1.0  # fixed lengths: only the last, part-full wave


@pytest.mark.parametrize("kw, expected", [({"prompts": 0}, "positive whole number"),
                                          ({"prompts": 100, "ttft_slo_s": 1.0}, "no TTFT/TPOT target"),
                                          ({"prompts": 100, "disaggregate": True, "devices": 2}, "colocated run")])
def test_bad_prompts_are_one_line_naming_the_field(kw, expected):
    with pytest.raises(InputError, match=expected) as err:
        _request(**kw)
    assert err.value.field == "--prompts"


def test_an_output_spread_lengthens_a_finite_runs_drain():
    """api.serve(output_cv=...): the generated lengths spread around output_len (gamma); with prompts, a wider
    spread leaves a longer tail at small batches, so the whole run's share of its steady state falls."""
    from flopwatt import api

    base = dict(model="llama3.1-8b", accelerator="h100-sxm5-80gb", devices=1, input_len=217.0, output_len=200.0,
                prompts=1000)
    fixed, spread = (api.serve(api.ServeRequest(**base, output_cv=cv)) for cv in (0.0, 1.0))
    assert spread.details["lengths"]["output_cv"] == pytest.approx(1.0)
    assert spread.metrics["run_share"] < fixed.metrics["run_share"] - 0.1
    with pytest.raises(InputError) as err:
        api.serve(api.ServeRequest(model="llama2-70b", dataset="mlperf-llama2-70b-openorca", output_cv=0.5))
    assert err.value.field == "output_cv"


@settings(max_examples=40, deadline=None)
@given(slots=st.lists(st.floats(2.0, 4096.0), min_size=1, max_size=5), floor=st.sampled_from([1.0, 2.0, 8.0]),
       seed=st.integers(0, 1000))
def test_the_cycle_at_every_drain_batch_is_each_plans_own_linear_interpolation(slots, floor, seed):
    """cycle_at (all plans at once) equals np.interp row by row over each plan's own levels."""
    slots = np.asarray(slots)
    levels = run.batch_levels(slots, np.minimum(floor, slots / 2))
    rng = np.random.default_rng(seed)
    cycles = np.sort(rng.uniform(1e-3, 0.2, levels.shape), axis=1)
    batch = rng.uniform(0.1, 5000.0, 64)
    want = np.stack([np.interp(batch, levels[r], cycles[r]) for r in range(len(slots))])
    np.testing.assert_allclose(run.cycle_at(batch, levels, cycles), want, rtol=1e-12)
