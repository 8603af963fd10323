"""Properties of the capacity plan (hypothesis).

- More demand never needs fewer devices: the devices the demand requires (first-choice candidates, no
  limits) and, with nothing binding, the devices installed.
- More megawatts never leave more demand unmet: in one period with unlimited supply and budget, adding
  facility MW at any site never raises any demand's unmet share (the greedy allocation in a fixed order
  leaves every site at least as much headroom after each demand; :mod:`flopwatt.capacity.plan`).

The estimates do not depend on demand size or megawatts, so one RateCache serves every example.
"""

from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capacity_base import BASE
from flopwatt.capacity.config import parse_config
from flopwatt.capacity.plan import run_plan
from flopwatt.capacity.rates import RateCache

ONE_YEAR = {"name": "p", "first_year": 2026, "last_year": 2026}
RATES = RateCache(parse_config({**BASE, "capacity": ONE_YEAR}))
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _data(scale: float, mw: tuple[float, float], *, years: dict | None = None) -> dict:
    data = copy.deepcopy(BASE)
    data["capacity"] = years or ONE_YEAR
    data["serving"]["chat"]["requests_per_s"] *= scale
    data["training"]["small"]["deadline_days"] /= scale  # the same tokens sooner: more tokens/s
    for sid, value in zip(("east", "west"), mw, strict=True):
        data["sites"][sid]["mw_available"] = {"2026": value}
    return data


def _plan(data: dict) -> list[dict]:
    return run_plan(parse_config(data), RATES)["periods"]


scales = st.floats(min_value=0.1, max_value=8.0)  # deadline 300 days down to 3.75
megawatts = st.floats(min_value=0.0, max_value=1.5)


@SETTINGS
@given(scale=scales, more=st.floats(min_value=1.0, max_value=4.0), mw=st.tuples(megawatts, megawatts))
def test_more_demand_never_needs_fewer_devices(scale, more, mw):
    low, high = _plan(_data(scale, mw))[0], _plan(_data(scale * more, mw))[0]
    assert high["devices_required"] >= low["devices_required"] * (1 - 1e-12)


@SETTINGS
@given(scale=scales, more=st.floats(min_value=1.0, max_value=4.0))
def test_with_nothing_binding_more_demand_installs_no_fewer_devices(scale, more):
    years = {"name": "p", "first_year": 2026, "last_year": 2028}
    low = _plan(_data(scale, (1e4, 1e4), years=years))
    high = _plan(_data(scale * more, (1e4, 1e4), years=years))
    for a, b in zip(low, high, strict=True):
        assert not a["unmet"] and not b["unmet"]
        assert b["totals"]["devices"] >= a["totals"]["devices"]


@SETTINGS
@given(scale=scales, mw=st.tuples(megawatts, megawatts), extra=st.tuples(megawatts, megawatts))
def test_more_megawatts_never_leave_more_demand_unmet(scale, mw, extra):
    base = _plan(_data(scale, mw))[0]
    grown = _plan(_data(scale, (mw[0] + extra[0], mw[1] + extra[1])))[0]
    before = {u["demand"]: u["unmet_share"] for u in base["unmet"]}
    after = {u["demand"]: u["unmet_share"] for u in grown["unmet"]}
    for demand, share in after.items():
        assert share <= before.get(demand, 0.0) + 1e-9, (demand, share, before)
