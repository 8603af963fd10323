"""Fleet traces: the real Philly and Azure files against their README, malformed rows, seeded generators."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest

from flopwatt.errors import InputError
from flopwatt.fleet.traces import (
    PHILLY_GPU_JOBS,
    PHILLY_LOG_DURATION_SIGMA,
    PHILLY_MEAN_INTERARRIVAL_S,
    RequestTrace,
    TrainingTrace,
    load_azure_llm,
    load_philly,
    load_training_trace,
    resample_training,
    synthetic_requests,
    synthetic_training,
)

TRACES = Path(__file__).resolve().parents[1] / "data" / "traces"
HEADER = "timestamp,duration,num_gpus,gpu_time,cluster"
GOOD = "2017-10-09 07:01:55,66.0,1,66.0,11cb48"


#: SHA-256 of the uncompressed upstream files (data/traces/README.md).
SHA256 = {"philly_jobs.csv": "ebffb3dd1589bdf4e7bcd74496201c5ded1d557d498ee14f560463f37ec353da",
          "AzureLLMInferenceTrace_code.csv": "54e9a6d2a4bd06ba1e060304b900abbc74cbea53de96506e60fe5bb4f2277fb6",
          "AzureLLMInferenceTrace_conv.csv": "2f1e5b666d4e3055fdbba98598ce2ec307767b9064e03e2fa46676dbcc7d0bf8"}


def _trace(name: str) -> Path:
    """A trace shipped gzipped in data/traces (no skip: the repository carries it)."""
    return TRACES / f"{name}.gz"


@pytest.fixture(scope="module")
def philly() -> TrainingTrace:
    return load_philly(_trace("philly_jobs.csv"))


def test_philly_matches_readme(philly):
    assert len(philly) == 82_247
    assert philly.arrival_s[0] == 0.0 and np.all(np.diff(philly.arrival_s) >= 0)
    counts = dict(zip(*np.unique(philly.devices, return_counts=True), strict=True))
    assert counts == PHILLY_GPU_JOBS and counts[1] == 76_627
    assert philly.duration_s.min() == 1 and philly.duration_s.max() == 4_628_226
    assert np.median(philly.duration_s) == 1144.0
    assert np.log(philly.duration_s).std() == pytest.approx(PHILLY_LOG_DURATION_SIGMA, abs=1e-6)
    assert len(philly.group_names) == 15 and set(philly.group) == set(range(15))
    span_s = philly.arrival_s[-1]
    assert span_s / (len(philly) - 1) == pytest.approx(PHILLY_MEAN_INTERARRIVAL_S, abs=1e-3)
    assert sorted(philly.line) == list(range(2, 82_249))  # every data line once; header is line 1


def test_philly_keeps_file_order_of_codes_and_lines(philly):
    first = np.flatnonzero(philly.line == 2)[0]  # "2017-10-09 07:01:55,66.0,1,66.0,11cb48"
    assert philly.group[first] == 0 and philly.group_names[0] == "11cb48" and philly.duration_s[first] == 66.0
    assert np.all(np.diff(philly.line[philly.arrival_s == philly.arrival_s[first]]) > 0)  # stable sort
    head = philly.head(10)
    assert len(head) == 10 and np.array_equal(head.line, philly.line[:10]) and head.source == philly.source
    with pytest.raises(ValueError):
        philly.arrival_s[0] = 1.0  # read-only


def test_load_training_trace_dispatches_on_header(philly, tmp_path):
    same = load_training_trace(_trace("philly_jobs.csv"))
    assert np.array_equal(same.arrival_s, philly.arrival_s) and np.array_equal(same.line, philly.line)
    generic = tmp_path / "jobs.csv"
    generic.write_text("arrival_s,duration_s,devices,group\n30,10,8,b\n10,5.5,1,a\n10,7,2,b\n")
    jobs = load_training_trace(generic)
    assert jobs.arrival_s.tolist() == [0.0, 0.0, 20.0] and jobs.line.tolist() == [3, 4, 2]
    assert jobs.devices.tolist() == [1, 2, 8] and jobs.group.tolist() == [1, 0, 0] and jobs.group_names == ("b", "a")
    plain = tmp_path / "plain.csv"
    plain.write_text("devices,duration_s,arrival_s\n4,10,0\n")
    assert load_training_trace(plain).group.tolist() == [0]
    other = tmp_path / "other.csv"
    other.write_text("start,len\n1,2\n")
    with pytest.raises(InputError, match=r"other\.csv:1: .*arrival_s"):
        load_training_trace(other)


@pytest.mark.parametrize(("name", "rows", "context_mean", "generated_mean", "span_s"), [
    ("code", 8_819, 2047.8, 27.9, 3435.9), ("conv", 19_366, 1154.7, 211.1, 3501.7)])
def test_azure_matches_readme(name, rows, context_mean, generated_mean, span_s):
    trace = load_azure_llm(_trace(f"AzureLLMInferenceTrace_{name}.csv"))
    assert len(trace) == rows
    assert trace.arrival_s[0] == 0.0 and np.all(np.diff(trace.arrival_s) >= 0)
    assert round(trace.input_tokens.mean(), 1) == context_mean
    assert round(trace.output_tokens.mean(), 1) == generated_mean
    assert trace.arrival_s[-1] == pytest.approx(span_s, abs=0.05)
    assert trace.output_tokens.min() > 0  # the published files have no zero-output request
    rate = trace.rate_per_s(60.0)
    assert rate.sum() * 60.0 == pytest.approx(rows)


def test_azure_keeps_seven_fractional_digits(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.9799600,4808,10\n"
                    "2023-11-16 18:17:04.0319601,3180,0\n")
    trace = load_azure_llm(path)
    assert trace.arrival_s[1] == pytest.approx(0.0520001, abs=1e-9)
    assert trace.output_tokens.tolist() == [10, 0]  # zero generated tokens is kept (prefill-only)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "trace.csv"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("text", "line", "fragment"), [
    (f"{HEADER}\n{GOOD}\n2017-10-09 07:01:55,66.0,1,66.0\n", 3, "5 fields"),
    (f"{HEADER}\n{GOOD}\n2017-10-09 07:01:55,66.0,1,66.0,a,b\n", 3, "got 6 fields"),
    (f"{HEADER}\n2017-10-09T07:01:55,66.0,1,66.0,a\n", 2, "timestamp"),
    (f"{HEADER}\n{GOOD}\nNaT,66.0,1,66.0,a\n", 3, "'NaT'"),
    (f"{HEADER}\n{GOOD}\n2017-02-30 07:01:55,66.0,1,66.0,a\n", 3, "timestamp"),
    (f"{HEADER}\n{GOOD}\n2017-10-09 07:01:55,-3,1,-3,a\n", 3, "duration as a positive"),
    (f"{HEADER}\n{GOOD}\n2017-10-09 07:01:55,nan,1,nan,a\n", 3, "duration"),
    (f"{HEADER}\n{GOOD}\n2017-10-09 07:01:55,abc,1,66.0,a\n", 3, "'abc'"),
    (f"{HEADER}\n{GOOD}\n{GOOD}\n2017-10-09 07:01:55,66.0,2,66.0,a\n", 4, "gpu_time equal to duration * num_gpus"),
    (f"{HEADER}\n{GOOD}\n2017-10-09 07:01:55,66.0,1.5,99.0,a\n", 3, "num_gpus as an integer"),
    (f"{HEADER}\n{GOOD}\n2017-10-09 07:01:55,66.0,0,0.0,a\n", 3, "num_gpus as an integer >= 1"),
    ("timestamp,duration,num_gpus,gpu_time\n2017-10-09 07:01:55,66.0,1,66.0\n", 1, "missing column ['cluster']"),
    (f"{HEADER},user\n{GOOD},bob\n", 1, "unknown column ['user']"),
    ("", 1, "empty"),
    ("\n\n", 1, "empty"),
    (f"{HEADER}\n", 2, "no data rows"),
    (f"{HEADER}\n{GOOD}\n\n{GOOD}\n", 3, "blank line"),
])
def test_malformed_philly_rows_name_file_and_line(tmp_path, text, line, fragment):
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as err:
        load_philly(path)
    message = str(err.value)
    assert message.startswith(f"{path}:{line}: ") and fragment in message and "\n" not in message


def test_trailing_blank_lines_and_crlf_are_fine(tmp_path):
    trace = load_philly(_write(tmp_path, f"{HEADER}\r\n{GOOD}\r\n{GOOD}\r\n\r\n\n"))
    assert len(trace) == 2 and trace.line.tolist() == [2, 3]


@pytest.mark.parametrize("name", sorted(SHA256))
def test_shipped_traces_decompress_to_the_upstream_bytes(name):
    assert hashlib.sha256(gzip.decompress(_trace(name).read_bytes())).hexdigest() == SHA256[name]


def test_gzip_and_plain_read_the_same(tmp_path):
    text = f"{HEADER}\r\n{GOOD}\r\n2017-10-09 07:01:50,5,2,10,aa\r\n\r\n"
    plain = _write(tmp_path, text)
    packed = tmp_path / "t.csv.gz"
    packed.write_bytes(gzip.compress(text.encode()))
    a, b = load_philly(plain), load_philly(packed)
    assert b.source == str(packed) and b.line.tolist() == a.line.tolist() == [3, 2]
    assert all(np.array_equal(getattr(a, k), getattr(b, k)) for k in ("arrival_s", "duration_s", "devices", "group"))


@pytest.mark.parametrize("damage", ["not gzip at all", "truncated"])
def test_damaged_gzip_is_an_input_error(tmp_path, damage):
    path = tmp_path / "bad.csv.gz"
    blob = gzip.compress(f"{HEADER}\n{GOOD}\n".encode())
    path.write_bytes(b"not gzip at all" if damage.startswith("not") else blob[: len(blob) // 2])
    with pytest.raises(InputError, match=r"bad\.csv\.gz: cannot read trace") as err:
        load_philly(path)
    assert "\n" not in str(err.value)


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="nope.csv: cannot read trace"):
        load_training_trace(tmp_path / "nope.csv")


@pytest.mark.parametrize(("row", "fragment"), [
    ("2023-11-16 18:17:03.97996000000,1,1", "TIMESTAMP"),
    ("2023-11-16,1,1", "TIMESTAMP"),
    ("2023-11-16 18:17:03.9799600,0,1", "ContextTokens as an integer >= 1"),
    ("2023-11-16 18:17:03.9799600,5,-1", "GeneratedTokens as an integer >= 0"),
    ("2023-11-16 18:17:03.9799600,5,2.5", "GeneratedTokens"),
])
def test_malformed_azure_rows_name_the_line(tmp_path, row, fragment):
    path = _write(tmp_path, f"TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.9799600,4808,10\n{row}\n")
    with pytest.raises(InputError, match=rf"trace\.csv:3: .*{fragment}"):
        load_azure_llm(path)


def test_synthetic_training_is_deterministic_and_philly_shaped():
    a = synthetic_training(20_000, np.random.default_rng(7), mean_interarrival_s=100.0)
    b = synthetic_training(20_000, np.random.default_rng(7), mean_interarrival_s=100.0)
    c = synthetic_training(20_000, np.random.default_rng(8), mean_interarrival_s=100.0)
    for name in ("arrival_s", "duration_s", "devices"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
        assert not np.array_equal(getattr(a, name), getattr(c, name))
    assert a.source == "synthetic(seed=7)" and np.all(a.line == -1) and np.all(a.group == 0)
    assert a.arrival_s[0] == 0.0 and np.all(np.diff(a.arrival_s) >= 0)
    assert a.arrival_s[-1] / (len(a) - 1) == pytest.approx(100.0, rel=0.03)
    assert np.median(a.duration_s) == pytest.approx(1144.0, rel=0.05)
    assert np.log(a.duration_s).std() == pytest.approx(PHILLY_LOG_DURATION_SIGMA, rel=0.03)
    assert set(np.unique(a.devices)) <= {1, 2, 4, 8, 16, 32, 64}
    assert np.mean(a.devices == 1) == pytest.approx(76_627 / (82_247 - 17), abs=0.01)
    assert len(synthetic_training(0, np.random.default_rng(1), mean_interarrival_s=1.0)) == 0


QUANTILES = (1, 10, 25, 50, 75, 90, 99)
#: Tolerances of the resampled trace against Philly (stated up front, not fitted to a run): quantiles of run
#: time within 3 % relative, the share of each device count within 0.2 percentage points, the mean gap
#: between submissions within 1 %, the mean run time of multi-GPU jobs (the joint distribution) within 5 %.
QUANTILE_REL, SHARE_ABS, GAP_REL, JOINT_REL = 0.03, 0.002, 0.01, 0.05


def _philly_like(x: TrainingTrace, philly: TrainingTrace) -> list[str]:
    """What of ``x`` is off Philly's distribution by more than the tolerances above (empty: none)."""
    off = []
    for q in QUANTILES:
        want, got = np.percentile(philly.duration_s, q), np.percentile(x.duration_s, q)
        if abs(got - want) > QUANTILE_REL * want:
            off.append(f"duration p{q}: {got:.0f} s vs Philly {want:.0f} s")
    for gpus, count in PHILLY_GPU_JOBS.items():
        if abs(np.mean(x.devices == gpus) - count / len(philly)) > SHARE_ABS:
            off.append(f"share of {gpus}-GPU jobs")
    gap, want_gap = x.arrival_s[-1] / (len(x) - 1), philly.arrival_s[-1] / (len(philly) - 1)
    if abs(gap - want_gap) > GAP_REL * want_gap:
        off.append(f"mean gap {gap:.1f} s vs {want_gap:.1f} s")
    multi, want_multi = x.duration_s[x.devices > 1].mean(), philly.duration_s[philly.devices > 1].mean()
    if abs(multi - want_multi) > JOINT_REL * want_multi:
        off.append(f"mean run time of multi-GPU jobs {multi:.0f} s vs {want_multi:.0f} s")
    return off


def test_resampled_philly_is_seeded_and_has_philly_distribution(philly):
    a = resample_training(philly, 10, np.random.default_rng([1, 2]))
    b = resample_training(philly, 10, np.random.default_rng([1, 2]))
    c = resample_training(philly, 10, np.random.default_rng([2, 2]))
    assert len(a) == 822_470 and a.arrival_s[0] == 0.0 and np.all(np.diff(a.arrival_s) >= 0)
    for name in ("arrival_s", "duration_s", "devices", "group"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
        assert not np.array_equal(getattr(a, name), getattr(c, name))
    assert np.all(a.line == -1) and a.group_names == philly.group_names and "scale=10" in a.source
    assert _philly_like(a, philly) == []
    assert _philly_like(c, philly) == []
    # the check discriminates: the parametric log-normal fit of Philly fails it (its quantiles are off)
    fit = synthetic_training(len(a), np.random.default_rng(3), mean_interarrival_s=PHILLY_MEAN_INTERARRIVAL_S)
    assert any(o.startswith("duration p") for o in _philly_like(fit, philly))


def test_resample_rejects_bad_arguments(philly):
    with pytest.raises(InputError, match="scale"):
        resample_training(philly, 0.0, np.random.default_rng(0))
    with pytest.raises(InputError, match="trace"):
        resample_training(philly.head(1), 2.0, np.random.default_rng(0))
    assert len(resample_training(philly.head(10), 0.5, np.random.default_rng(0))) == 5


def test_synthetic_training_rejects_bad_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(InputError, match="device_weights"):
        synthetic_training(5, rng, mean_interarrival_s=1.0, devices=(1, 3))  # 3 GPUs never seen in Philly
    with pytest.raises(InputError, match="device_weights"):
        synthetic_training(5, rng, mean_interarrival_s=1.0, devices=(1, 2), device_weights=(1.0,))
    with pytest.raises(InputError, match="mean_interarrival_s"):
        synthetic_training(5, rng, mean_interarrival_s=0.0)
    only = synthetic_training(50, rng, mean_interarrival_s=1.0, devices=(3, 5), device_weights=(0.0, 1.0))
    assert set(only.devices) == {5}


def test_synthetic_requests_constant_and_varying_rates():
    kw = {"mean_input_tokens": 1154.7, "mean_output_tokens": 211.1}
    a = synthetic_requests(3600.0, np.random.default_rng(3), rate_per_s=5.0, **kw)
    b = synthetic_requests(3600.0, np.random.default_rng(3), rate_per_s=5.0, **kw)
    c = synthetic_requests(3600.0, np.random.default_rng(4), rate_per_s=5.0, **kw)
    assert isinstance(a, RequestTrace) and a.source == "synthetic(seed=3)"
    for name in ("arrival_s", "input_tokens", "output_tokens"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
        assert not np.array_equal(getattr(a, name), getattr(c, name))
    assert len(a) == pytest.approx(18_000, rel=0.05) and np.all(np.diff(a.arrival_s) >= 0)
    assert a.input_tokens.mean() == pytest.approx(1154.7, rel=0.03) and a.input_tokens.min() >= 1
    assert a.output_tokens.mean() == pytest.approx(211.1, rel=0.03)

    def ramp(t):
        return 10.0 * t / 3600.0  # 0 -> 10 requests/s

    v = synthetic_requests(3600.0, np.random.default_rng(5), rate_per_s=ramp, **kw)
    rate = v.rate_per_s(600.0)
    assert len(v) == pytest.approx(18_000, rel=0.05)
    assert np.all(np.diff(rate) > 0) and rate[0] == pytest.approx(10 * 300 / 3600, rel=0.15)
    same = synthetic_requests(3600.0, np.random.default_rng(5), rate_per_s=ramp, **kw)
    assert np.array_equal(v.arrival_s, same.arrival_s)
    with pytest.raises(InputError, match="rate_per_s"):
        synthetic_requests(3600.0, np.random.default_rng(5), rate_per_s=ramp, rate_max_per_s=5.0, **kw)
    assert len(synthetic_requests(10.0, np.random.default_rng(5), rate_per_s=0.0, **kw)) == 0
    with pytest.raises(InputError, match="mean_output_tokens"):
        synthetic_requests(10.0, np.random.default_rng(5), rate_per_s=1.0, mean_input_tokens=10, mean_output_tokens=0)


def test_parsed_trace_cache_gives_the_same_arrays_and_follows_the_bytes(tmp_path, monkeypatch):
    """Issue 22: a warm cache entry gives the parse bit for bit; edited bytes are parsed again; bad files are
    never stored; FLOPWATT_CACHE_DIR set but empty turns the cache off."""
    from flopwatt.fleet import traces as t

    cache = tmp_path / "cache"
    monkeypatch.setenv("FLOPWATT_CACHE_DIR", str(cache))
    trace = tmp_path / "jobs.csv"
    trace.write_text("arrival_s,duration_s,devices,group\n5,10,1,a\n0,20,2,b\n")
    cold, warm, plain = t.load_training_trace(trace), t.load_training_trace(trace), t._load_training_trace(trace)
    assert len(list(cache.glob("trace-training-*.npz"))) == 1
    for got in (cold, warm):
        for name in t.TrainingTrace._DTYPES:
            assert getattr(got, name).dtype == getattr(plain, name).dtype
            np.testing.assert_array_equal(getattr(got, name), getattr(plain, name))
        assert (got.source, got.group_names) == (plain.source, plain.group_names) == (str(trace), ("a", "b"))
    trace.write_text("arrival_s,duration_s,devices,group\n5,10,4,a\n")
    assert t.load_training_trace(trace).devices.tolist() == [4]
    assert len(list(cache.glob("trace-training-*.npz"))) == 1  # the older entry of this path is dropped
    trace.write_text("arrival_s,duration_s,devices\n5,-1,4\n")
    with pytest.raises(InputError):
        t.load_training_trace(trace)
    assert len(list(cache.glob("trace-training-*.npz"))) == 1
    monkeypatch.setenv("FLOPWATT_CACHE_DIR", "")
    trace.write_text("arrival_s,duration_s,devices\n1,2,3\n")
    assert t.load_training_trace(trace).devices.tolist() == [3]
    assert len(list(cache.glob("trace-training-*.npz"))) == 1
