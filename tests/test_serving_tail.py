"""Per-request TPOT percentile (perf/serving_tail.py): exact limits and monotonicity."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flopwatt.perf import serving_tail as tail

QUANTILES = st.sampled_from([0.5, 0.9, 0.99, 0.999])


@given(tpot=st.floats(1e-3, 1.0), sd=st.floats(1e-5, 0.1), q=QUANTILES)
def test_without_prompt_noise_the_quantile_is_the_batch_normal_quantile(tpot, sd, q):
    points = tail.output_length_points(300.0, 0.8)
    got = tail.tpot_quantile_s(np.array([tpot]), np.array([sd]), np.array([0.0]), points, q)[0]
    assert got == pytest.approx(tpot + NormalDist().inv_cdf(q) * sd, rel=1e-5, abs=1e-9)


@given(tpot=st.floats(1e-3, 1.0), sd=st.floats(1e-5, 0.05), var=st.floats(1e-8, 1e-2), cv=st.floats(0.0, 1.5))
def test_prompt_noise_raises_the_tail_and_the_99th_is_above_the_90th(tpot, sd, var, cv):
    points = tail.output_length_points(200.0, cv)
    quiet = tail.tpot_quantile_s(np.array([tpot]), np.array([sd]), np.array([0.0]), points, 0.99)[0]
    noisy = tail.tpot_quantile_s(np.array([tpot]), np.array([sd]), np.array([var]), points, 0.99)
    assert noisy[0] > quiet
    assert noisy[0] > tail.tpot_quantile_s(np.array([tpot]), np.array([sd]), np.array([var]), points, 0.9)[0]


def test_short_generations_spread_the_tail_more_than_a_fixed_length():
    """The same mean output, a spread of lengths: short requests average fewer cycles, so the tail is wider."""
    args = (np.array([0.03]), np.array([1e-4]), np.array([1e-4]))
    fixed = tail.tpot_quantile_s(*args, tail.output_length_points(300.0, 0.0), 0.99)[0]
    spread = tail.tpot_quantile_s(*args, tail.output_length_points(300.0, 0.8), 0.99)[0]
    assert spread > fixed


@given(mean=st.floats(20.0, 5000.0), cv=st.floats(0.2, 1.2))
def test_length_points_keep_the_mean_and_spread(mean, cv):
    """Wilson-Hilferty quantiles of the gamma distribution: mean within 2 %, CV within 10 % (at least two tokens
    each, which only lifts the lowest points)."""
    points = tail.output_length_points(mean, cv)
    assert np.all(points >= 2.0)
    assert points.mean() == pytest.approx(mean, rel=0.02, abs=2.0)
    if mean * (1 - 3 * cv) > 10:
        assert points.std() / points.mean() == pytest.approx(cv, rel=0.1)
