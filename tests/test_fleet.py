"""Fleet simulation: hand-checked schedules, conservation, determinism, policies, rejections."""

from __future__ import annotations

import copy
import datetime
from pathlib import Path

import numpy as np
import pytest

from flopwatt.errors import InputError
from flopwatt.fleet.config import parse_config
from flopwatt.fleet.metrics import summarize
from flopwatt.fleet.policies import GridAware, MaxThroughput, Policy, make_policy
from flopwatt.fleet.simulate import prepare, simulate

TRACES = Path(__file__).resolve().parents[1] / "data" / "traces"

BASE = {
    "fleet": {"name": "t", "seed": 3, "service_interval_s": 600.0},
    "sites": {"us-oregon": {"cooling": "direct-liquid"}, "us-virginia": {}},
    "pools": {"slow": {"site": "us-oregon", "accelerator": "a100-sxm4-80gb", "devices": 8},
              "fast": {"site": "us-virginia", "accelerator": "h100-sxm5-80gb", "devices": 8}},
    "classes": {"small": {"model": "gpt3-125m", "seq_len": 2048, "global_batch": 64},
                "big": {"model": "gpt3-1.3b", "seq_len": 2048, "global_batch": 64}},
    "jobs": [{"class": "small", "arrival_s": 0.0, "devices": 8, "tokens": 2e10},
             {"class": "big", "arrival_s": 0.0, "devices": 8, "tokens": 2e9},
             {"class": "big", "arrival_s": 10.0, "devices": 8, "tokens": 1e9}],
}


def config(**changes):
    data = copy.deepcopy(BASE)
    for key, value in changes.items():
        data[key] = value
    return parse_config(data, Path("."))


@pytest.fixture(scope="module")
def prepared():
    return prepare(config())


def rate(prep, job, pool):
    j = prep.jobs
    return prep.rates.at(j.job_class[job:job + 1], prep.pool_system[pool:pool + 1], j.devices_min[job:job + 1])[0][0]


def test_fifo_schedule_by_hand(prepared):
    """FIFO: job 0 -> first pool (slow), job 1 -> fast, job 2 waits for the first to finish."""
    run = simulate(prepared, Policy())
    assert run.pool.tolist()[:2] == [0, 1]
    end0 = prepared.jobs.work_tokens[0] / rate(prepared, 0, 0)
    end1 = prepared.jobs.work_tokens[1] / rate(prepared, 1, 1)
    assert run.end_s[0] == pytest.approx(end0) and run.end_s[1] == pytest.approx(end1)
    first_free = min(end0, end1)
    assert run.start_s[2] == pytest.approx(first_free)
    assert run.pool[2] == (0 if end0 < end1 else 1)


def test_max_throughput_gives_the_fast_pool_to_the_job_that_gains_most(prepared):
    gavel = simulate(prepared, MaxThroughput())
    gain = [rate(prepared, j, 1) / rate(prepared, j, 0) for j in (0, 1)]
    assert gain[0] != pytest.approx(gain[1])
    winner = int(np.argmax(gain))
    assert gavel.pool[winner] == 1 and gavel.pool[1 - winner] == 0


def test_device_seconds_never_exceed_capacity(prepared):
    for policy in (Policy(), MaxThroughput(), make_policy("latency-aware")):
        run = simulate(prepared, policy)
        s = summarize(run)
        for pool in s["pools"].values():
            assert 0.0 <= pool["utilisation"] <= 1.0 + 1e-12
        # no two jobs overlap on one pool beyond its devices: sweep the intervals
        for p, size in enumerate(prepared.pool_devices):
            on = run.pool == p
            times = np.concatenate([run.start_s[on], run.end_s[on]])
            delta = np.concatenate([run.devices[on], -run.devices[on]])
            order = np.lexsort((delta, times))  # releases (negative) first at equal times
            assert np.cumsum(delta[order]).max() <= size


def test_same_seed_same_metrics_other_seed_other_classes():
    data = copy.deepcopy(BASE)
    data.pop("jobs")
    data["trace"] = {"path": str(TRACES / "philly_jobs.csv.gz"), "reference_accelerator": "v100-sxm2-32gb",
                     "max_jobs": 400}
    data["pools"]["big"] = {"site": "us-oregon", "system": "dgx-2-v100", "devices": 128}
    cfg = parse_config(data, Path("."))
    a, b, c = prepare(cfg), prepare(cfg), prepare(cfg, seed=99)
    sa, sb = summarize(simulate(a, MaxThroughput())), summarize(simulate(b, MaxThroughput()))
    assert sa == sb
    assert not np.array_equal(a.jobs.job_class, c.jobs.job_class)


def test_impossible_jobs_are_reported_not_raised():
    jobs = [*BASE["jobs"], {"class": "small", "arrival_s": 5.0, "devices": 64, "tokens": 1e9}]
    prep = prepare(config(jobs=jobs))
    s = summarize(simulate(prep, Policy()))
    assert s["training"]["rejected"] == {"more devices than any pool": 1}
    assert s["training"]["completed"] == 3


def test_elastic_job_takes_the_fastest_size_that_fits():
    jobs = [{"class": "small", "arrival_s": 0.0, "devices": 4, "tokens": 1e10},
            {"class": "small", "arrival_s": 1.0, "devices_min": 1, "devices_max": 8, "tokens": 1e10}]
    pools = {"only": {"site": "us-oregon", "accelerator": "h100-sxm5-80gb", "devices": 8}}
    run = simulate(prepare(config(jobs=jobs, pools=pools)), Policy())
    assert run.devices.tolist() == [4, 4]  # 4 of 8 were free: the largest allowed count that fits


def test_carbon_aware_defers_a_flexible_job_to_cleaner_hours():
    """Frankfurt's grid is cleaner at midday in summer (hourly profile): a job submitted at 20:00 UTC
    with a day of slack waits, and emits less than at once."""
    sites = {"de-frankfurt": {"cooling": "direct-liquid"}}
    pools = {"fra": {"site": "de-frankfurt", "accelerator": "h100-sxm5-80gb", "devices": 8}}
    jobs = [{"class": "small", "arrival_s": 20 * 3600.0, "devices": 8, "tokens": 2e9, "deadline_s": 48 * 3600.0}]
    cfg = config(sites=sites, pools=pools, jobs=jobs,
                 fleet={"name": "t", "start_utc": datetime.datetime(2023, 6, 1)})
    prep = prepare(cfg)
    aware, now = simulate(prep, GridAware()), simulate(prep, Policy())
    assert aware.start_s[0] > now.start_s[0]
    assert aware.end_s[0] <= jobs[0]["deadline_s"]
    assert summarize(aware)["energy"]["training_tco2e"] < summarize(now)["energy"]["training_tco2e"]


def test_latency_aware_serves_near_users():
    services = {"chat": {"model": "llama3-8b", "user_region": "us-east", "ttft_slo_s": 0.15, "tpot_slo_s": 0.05,
                         "rate_per_s": 5.0, "input_len": 1000, "output_len": 200}}
    sites = {"sg-singapore": {}, "us-virginia": {}}
    pools = {"far": {"site": "sg-singapore", "accelerator": "h100-sxm5-80gb", "devices": 16},
             "near": {"site": "us-virginia", "accelerator": "h100-sxm5-80gb", "devices": 16}}
    jobs = [{"class": "small", "arrival_s": 0.0, "devices": 8, "tokens": 1e9}]
    cfg = config(services=services, sites=sites, pools=pools, jobs=jobs,
                 fleet={"name": "t", "horizon_s": 3600.0, "service_interval_s": 600.0})
    prep = prepare(cfg)
    fifo, aware = summarize(simulate(prep, Policy())), summarize(simulate(prep, make_policy("latency-aware")))
    assert fifo["services"]["overall"]["slo_attainment"] == 0.0  # all replicas in Singapore: TTFT missed
    assert aware["services"]["overall"]["slo_attainment"] == 1.0
    assert aware["pools"]["far"]["training_utilisation"] > 0  # training went far away


def test_user_policies_plug_in():
    assert isinstance(make_policy("flopwatt.fleet.policies:MaxThroughput"), MaxThroughput)
    with pytest.raises(InputError, match="subclass"):
        make_policy("flopwatt.fleet.metrics:summarize")
    with pytest.raises(InputError, match="one of fifo"):
        make_policy("fastest")


@pytest.mark.parametrize(("change", "needle"), [
    ({"pools": {"x": {"site": "us-oregon", "accelerator": "h100", "devices": 8}}}, "h100-sxm5-80gb"),
    ({"pools": {"x": {"site": "mars", "accelerator": "h100-sxm5-80gb", "devices": 8}}}, "[pools.x].site"),
    ({"pools": {"x": {"site": "us-oregon", "accelerator": "h100-sxm5-80gb", "devices": 0}}}, "[pools.x].devices"),
    ({"pools": {"x": {"site": "us-oregon", "accelerator": "h100-sxm5-80gb", "devices": 8, "gpus": 2}}},
     "[pools.x].gpus"),
    ({"sites": {"atlantis": {}}}, "atlantis"),
    ({"jobs": [{"class": "tiny", "devices": 1, "tokens": 1e9}]}, "[[jobs]] #1.class"),
    ({"jobs": [{"class": "small", "devices": 1}]}, "exactly one of tokens or duration_s"),
    ({"jobs": [{"class": "small", "devices_min": 4, "devices_max": 2, "tokens": 1}]}, "devices_max"),
    ({"services": {"s": {"model": "llama3-8b", "user_region": "moon", "ttft_slo_s": 1, "tpot_slo_s": 0.1,
                         "rate_per_s": 1, "input_len": 10, "output_len": 10}}}, "user_region"),
])
def test_bad_config_is_one_input_error(change, needle):
    with pytest.raises(InputError) as exc:
        config(**change)
    assert needle in str(exc.value)


def test_synthetic_trace_is_seeded():
    data = copy.deepcopy(BASE)
    data.pop("jobs")
    data["trace"] = {"synthetic_jobs": 300, "mean_interarrival_s": 60.0, "reference_accelerator": "a100-sxm4-80gb"}
    data["pools"]["big"] = {"site": "us-oregon", "accelerator": "a100-sxm4-80gb", "devices": 64}
    cfg = parse_config(data, Path("."))
    a, b, c = prepare(cfg), prepare(cfg), prepare(cfg, seed=5)
    assert len(a.jobs) == 300 and np.array_equal(a.jobs.arrival_s, b.jobs.arrival_s)
    assert not np.array_equal(a.jobs.arrival_s, c.jobs.arrival_s)
    s = summarize(simulate(a, MaxThroughput()))
    assert s["training"]["completed"] + sum(s["training"]["rejected"].values()) == 300


def test_synthetic_scale_resamples_the_trace_with_its_own_seed(tmp_path):
    data = copy.deepcopy(BASE)
    data.pop("jobs")
    data["trace"] = {"path": str(TRACES / "philly_jobs.csv.gz"), "reference_accelerator": "a100-sxm4-80gb",
                     "synthetic_scale": 0.01}
    cfg = parse_config(data, Path("."))
    a, b, c = prepare(cfg), prepare(cfg, seed=5), prepare(parse_config({**data, "trace": {**data["trace"], "seed": 9}},
                                                                        Path(".")))
    assert len(a.jobs) == 822 and np.all(a.jobs.origin == -1)
    assert not np.array_equal(a.jobs.arrival_s, b.jobs.arrival_s)  # --seed moves it when [trace].seed is unset
    assert np.array_equal(c.jobs.arrival_s, prepare(parse_config({**data, "trace": {**data["trace"], "seed": 9}},
                                                                 Path(".")), seed=5).jobs.arrival_s)
    with pytest.raises(InputError, match=r"\[trace\].synthetic_scale"):
        parse_config({**data, "trace": {**data["trace"], "synthetic_scale": 0}}, Path("."))


def test_a_precision_a_device_lacks_makes_the_class_infeasible_there():
    classes = {"fp8": {"model": "gpt3-125m", "seq_len": 2048, "global_batch": 64, "precision": "fp8"}}
    pools = {"old": {"site": "us-oregon", "system": "dgx-2-v100", "devices": 16},
             "new": {"site": "us-virginia", "accelerator": "h100-sxm5-80gb", "devices": 8}}
    jobs = [{"class": "fp8", "arrival_s": 0.0, "devices": 8, "tokens": 1e9}]
    prep = prepare(config(classes=classes, pools=pools, jobs=jobs))
    run = simulate(prep, Policy())
    assert run.pool[0] == 1  # FIFO would take the first pool, but V100 has no fp8


def test_a_job_needing_a_whole_node_waits_for_one():
    """Two 8-GPU nodes: a 1-GPU job in each leaves 14 devices free, but a 16-GPU job needs both nodes."""
    pools = {"only": {"site": "us-oregon", "accelerator": "h100-sxm5-80gb", "devices": 16}}
    jobs = [{"class": "small", "arrival_s": 0.0, "devices": 8, "tokens": 1e9},
            {"class": "small", "arrival_s": 0.0, "devices": 1, "tokens": 1e8},
            {"class": "small", "arrival_s": 1.0, "devices": 16, "tokens": 1e9}]
    run = simulate(prepare(config(jobs=jobs, pools=pools)), Policy())
    assert run.start_s[2] == pytest.approx(max(run.end_s[0], run.end_s[1]))


def test_throughput_matrix_cache_gives_the_computed_matrix(tmp_path, monkeypatch):
    """Issue 22: a warm entry gives the matrix the plan searches give, bit for bit; other inputs, another entry;
    a user catalog overlay is never cached."""
    from flopwatt import catalog, estimate
    from flopwatt.fleet import rates_cache
    from flopwatt.fleet.throughput import training_rates

    monkeypatch.setenv("FLOPWATT_CACHE_DIR", str(tmp_path))
    cfg = parse_config(copy.deepcopy(BASE), Path("."))
    systems = {p.system.id: p.system for p in cfg.pools}
    counts = np.array([1, 8])
    cold = training_rates(cfg.classes, systems, counts)
    estimate.clear_choices()
    warm = training_rates(cfg.classes, systems, counts)
    assert len(list(tmp_path.glob("throughput-*.npz"))) == 1
    for got in (cold, warm):
        assert got.tokens_per_s.any()
        np.testing.assert_array_equal(got.tokens_per_s, cold.tokens_per_s)
        np.testing.assert_array_equal(got.it_power_w, cold.it_power_w)
    assert rates_cache.entry(cfg.classes, systems, np.array([1, 2])) != rates_cache.entry(cfg.classes, systems, counts)
    monkeypatch.setenv(catalog.OVERLAY_ENV, str(tmp_path))
    assert rates_cache.entry(cfg.classes, systems, counts) is None


def test_throughput_matrix_is_the_same_over_worker_processes():
    """The matrix's searches are pure: two local processes give the same figures as one, in order."""
    from flopwatt.fleet.throughput import _search_all
    cfg = config()
    systems = {p.system.id: p.system for p in cfg.pools}
    counts = np.array([8, 16])
    alone, pooled = _search_all(cfg.classes, systems, counts, 1), _search_all(cfg.classes, systems, counts, 2)
    assert len(alone) == len(cfg.classes) * len(systems) == len(pooled)
    for (rate_a, watts_a), (rate_b, watts_b) in zip(alone, pooled, strict=True):
        np.testing.assert_array_equal(rate_a, rate_b)
        np.testing.assert_array_equal(watts_a, watts_b)
    assert all(r.max() > 0 for r, _ in alone)  # every class runs somewhere: the comparison is not of zeros
