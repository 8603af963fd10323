"""Issue 22: the faster fleet simulation gives the same numbers as before.

The vectorised grid clock is compared value by value with energy.grid.mean_over (its definition);
every policy's summary on the first 1000 Philly jobs with examples/fleet-3site.toml is compared with
the summaries the code printed before issue 22 (tests/data/fleet_philly_1000_before_issue22.json
names the command and commit that recorded them).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from flopwatt import catalog
from flopwatt.energy import grid
from flopwatt.fleet.config import load_config
from flopwatt.fleet.gridclock import GridClock
from flopwatt.fleet.metrics import summarize
from flopwatt.fleet.policies import POLICIES, make_policy
from flopwatt.fleet.simulate import prepare, simulate

ROOT = Path(__file__).resolve().parents[1]
RECORDED = Path(__file__).resolve().parent / "data" / "fleet_philly_1000_before_issue22.json"
TRACE = ROOT / "data" / "traces" / "philly_jobs.csv.gz"


@pytest.mark.parametrize("which", ["carbon", "price"])
def test_grid_clock_equals_mean_over_value_by_value(which):
    ids = ["de-frankfurt", "us-texas", "us-oregon", "jp-tokyo", "no-oslo"]
    sites = [catalog.get("sites", s) for s in ids]
    profiles = catalog.grid_profiles()
    offset = 1234567.0
    clock = GridClock(sites, offset)
    rng = np.random.default_rng(5)
    n = 4000
    site = rng.integers(0, len(sites), n)
    start = rng.uniform(-grid.YEAR_S, 3 * grid.YEAR_S, n)
    start[::7] = np.round(start[::7] / grid.HOUR_S) * grid.HOUR_S  # on the hour
    span = rng.choice([0.0, 1.0, 1800.0, 3600.0, 86400.0, 2 * grid.YEAR_S], n) * rng.uniform(0.5, 1.5, n)
    span[::5] = 0.0
    got = clock(which, site, start, start + span)
    for s, site_spec in enumerate(sites):
        mask = site == s
        want = grid.mean_over(site_spec, start[mask] + offset, start[mask] + span[mask] + offset,
                              profiles.get(site_spec.id), which)
        np.testing.assert_array_equal(got[mask], want)
    grid_2d = clock(which, site.reshape(40, 100), start.reshape(40, 100), (start + span).reshape(40, 100))
    np.testing.assert_array_equal(grid_2d.ravel(), got)
    for k in range(0, n, 37):  # the scalar paths the policies use: one interval, several from one start
        assert clock.mean_one(which, int(site[k]), start[k], start[k] + span[k]) == got[k]
        many = clock.means_from(which, start[k], site[k:k + 6].tolist(), (start[k] + span[k:k + 6]).tolist())
        np.testing.assert_array_equal(many, clock(which, site[k:k + 6], np.full(len(many), start[k]),
                                                  start[k] + span[k:k + 6]))
    table = clock.spans(which, site.reshape(40, 100), start.reshape(40, 100), (start + span).reshape(40, 100))
    np.testing.assert_array_equal(table.ravel(), got)  # the checks-free path of the deferral tables
    for size in (1, 2, 5, 16, 17):  # a few intervals go through the Python-float path
        for first in range(0, n - size, 97):
            part = slice(first, first + size)
            np.testing.assert_array_equal(clock(which, site[part], start[part], start[part] + span[part]), got[part])


@pytest.mark.parametrize("which", ["carbon", "price"])
@pytest.mark.parametrize("years", [(-1.0, 3.0), (0.0, 0.9)])  # the second keeps every time in year 0 (its fast path)
def test_run_means_equal_spans_value_by_value(which, years):
    """The deferral tables' pool-by-pool path (one site's tables, each start's integral once per site)."""
    ids = ["de-frankfurt", "us-texas", "us-oregon", "jp-tokyo", "no-oslo"]
    offset = 7654321.0
    clock = GridClock([catalog.get("sites", s) for s in ids], offset)
    rng = np.random.default_rng(11)
    jobs, starts, pools = 60, 49, np.array([0, 1, 1, 2, 4, 0, 3])
    start = rng.uniform(years[0] * grid.YEAR_S, years[1] * grid.YEAR_S - offset - 50 * grid.HOUR_S, (jobs, 1)) + \
        grid.HOUR_S * np.arange(starts)[None, :]
    start[::4] = np.round(start[::4] / grid.HOUR_S) * grid.HOUR_S
    longest = 2 * grid.YEAR_S if years[0] < 0 else 86400.0
    run_s = rng.choice([0.0, 1e-9, 1.0, 1800.0, 86400.0, longest], (jobs, len(pools))) * \
        rng.uniform(0.5, 1.5, (jobs, len(pools)))
    want = clock.spans(which, pools[None, :, None], start[:, None, :], start[:, None, :] + run_s[:, :, None])
    np.testing.assert_array_equal(clock.run_means(which, pools, start, run_s), want)


def test_every_policy_gives_the_numbers_recorded_before_issue_22():
    if not TRACE.exists():
        pytest.fail(f"trace missing: {TRACE}")
    recorded = json.loads(RECORDED.read_text())
    prep = prepare(load_config(ROOT / "examples" / "fleet-3site.toml"), None, None, recorded["jobs"])
    assert set(recorded["runs"]) == set(POLICIES)
    for name, expected in recorded["runs"].items():
        got = json.loads(json.dumps(summarize(simulate(prep, make_policy(name))), default=float))
        assert got == expected, name
