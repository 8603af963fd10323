"""Reliability: Daly's published examples, Young's formula, series-system MTBF, goodput bounds."""

from __future__ import annotations

import numpy as np
import pytest

from flopwatt import catalog
from flopwatt import reliability as rel

MIN = 60.0
HOUR = 3600.0


@pytest.mark.parametrize(("mtbf_s", "expected_min"), [(24 * HOUR, 117), (6 * HOUR, 57), (15 * MIN, 9.1)])
def test_daly_interval_matches_his_published_examples(mtbf_s, expected_min):
    """Daly 2006 (FGCS 22(3)) examples with a 5-minute checkpoint: 117 min, 57 min, 9.1 min."""
    tau = rel.daly_interval_s(5 * MIN, mtbf_s)
    assert tau / MIN == pytest.approx(expected_min, abs=0.5 if expected_min > 10 else 0.05)


def test_young_interval():
    assert rel.young_interval_s(5 * MIN, 24 * HOUR) == pytest.approx(np.sqrt(2 * 300 * 86400))


def test_daly_interval_is_mtbf_when_checkpoint_exceeds_twice_mtbf():
    assert rel.daly_interval_s(3 * HOUR, 1 * HOUR) == pytest.approx(1 * HOUR)


def test_job_mtbf_is_device_mtbf_over_n():
    model = catalog.failure_model()
    one, many = rel.job_mtbf_s(np.array([1, 16384]), model)
    assert many == pytest.approx(one / 16384)


def test_llama3_rates_reproduce_their_own_count():
    """The rates are derived from Llama 3 Table 5: the same run must give back 419 (circular by design)."""
    model = catalog.failure_model()
    assert 16384 * 54 * rel.DAY_S * model.rate_per_device_s == pytest.approx(419)


def test_goodput_below_one_and_wall_time_grows_with_scale():
    model = catalog.failure_model()
    out = rel.run_reliability(np.full(3, 30 * 86400.0), np.array([1024, 8192, 65536]), 70e9, model)
    assert np.all(out["reliability/goodput"] < 1) and np.all(out["reliability/goodput"] > 0)
    assert np.all(np.diff(out["reliability/expected_wall_s"]) > 0)
    assert np.all(np.diff(out["reliability/interruptions"]) > 0)


def test_expected_wall_time_tends_to_work_without_failures():
    wall = rel.expected_wall_s(1000.0, 100.0, 1e-9, 0.0, 1e15)
    assert wall == pytest.approx(1000.0, rel=1e-6)
