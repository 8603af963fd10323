"""MLPerf Inference LoadGen latency distributions (bench/data/mlperf_latency_tails.csv): schema, units, ordering of
the printed percentiles, the scenario's latency targets and catalog ids. A FIT set of published figures; nothing is
predicted here. A figure left in ns instead of s, a swapped percentile column or a row copied from a results path
that another data file already names fails the checks below."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from flopwatt import catalog

ROOT = Path(__file__).resolve().parents[1]
CSV = ROOT / "bench" / "data" / "mlperf_latency_tails.csv"
COLUMNS = ["id", "round", "submitter", "system", "accelerator", "n_devices", "benchmark", "scenario", "ttft_target_s",
           "tpot_target_s", "samples_per_s", "tokens_per_s", "ttft_mean_s", "ttft_p50_s", "ttft_p90_s", "ttft_p99_s",
           "ttft_max_s", "tpot_mean_s", "tpot_p50_s", "tpot_p90_s", "tpot_p99_s", "tpot_max_s", "tp", "pp",
           "max_batch", "max_num_tokens", "engine", "precision", "source", "notes"]
ROUNDS = {"v4.1", "v5.0", "v5.1", "v6.0"}
SCENARIOS = {"Server", "Interactive"}
BENCHMARKS = {"llama2-70b-99", "llama2-70b-99.9", "llama2-70b-interactive", "llama3.1-8b", "llama3.1-405b",
              "mixtral-8x7b"}
# MLPerf targets (s) by benchmark family and scenario, as the LoadGen summaries print them (ns / 1e9).
TARGETS = {("llama2-70b", "Server"): (2.0, 0.2), ("llama2-70b", "Interactive"): (0.45, 0.04),
           ("llama3.1-8b", "Server"): (2.0, 0.1), ("llama3.1-8b", "Interactive"): (0.5, 0.03),
           ("llama3.1-405b", "Server"): (6.0, 0.175), ("llama3.1-405b", "Interactive"): (4.5, 0.08)}
LATENCY = [f"{k}_{s}_s" for k in ("ttft", "tpot") for s in ("mean", "p50", "p90", "p99", "max")]
COUNTS = ["n_devices", "tp", "pp", "max_batch", "max_num_tokens"]
SOURCE_RE = re.compile(r"^[\w.-]+/inference_results_v[\d.]+@[0-9a-f]{40}:closed/(?P<sub>[^/]+)/results/(?P<sys>[^/]+)/"
                       r"(?P<bench>[^/]+)/(?P<scen>Server|Interactive)/performance/run_1/mlperf_log_summary\.txt$")


def _rows() -> list[dict[str, str]]:
    with CSV.open(newline="") as f:
        return list(csv.DictReader(f))


def _family(benchmark: str) -> str:
    return benchmark.replace("-interactive", "").replace("-99.9", "").replace("-99", "")


def test_header_and_ids():
    with CSV.open(newline="") as f:
        assert next(csv.reader(f)) == COLUMNS
    rows = _rows()
    assert 15 <= len(rows) <= 40
    ids = [r["id"] for r in rows]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"LT\d{2}-\d{2}", i) for i in ids)


def test_enums_and_source_match_row():
    accelerators = set(catalog.accelerators())
    for r in _rows():
        assert r["round"] in ROUNDS and r["scenario"] in SCENARIOS and r["benchmark"] in BENCHMARKS, r["id"]
        assert r["accelerator"] in accelerators, r["id"]
        assert r["engine"].startswith("TensorRT-LLM"), r["id"]
        m = SOURCE_RE.match(r["source"])
        assert m, r["id"]
        assert r["round"] in r["source"].split("@")[0], r["id"]
        assert (m["sub"], m["sys"], m["scen"]) == (r["submitter"], r["system"], r["scenario"]), r["id"]
        assert m["bench"].replace("llama3_1", "llama3.1") == r["benchmark"], r["id"]
        assert "Result is : VALID" in r["notes"], r["id"]
        # precision: the submitter's configs/<system>/<scenario>/<benchmark>.py model_fields.precision, quoted in notes
        assert r["precision"] in {"", "fp8", "fp4"}, r["id"]
        assert (f"precision {r['precision']}: closed/{r['submitter']}/configs/" in r["notes"]) == bool(r["precision"])


def test_one_row_per_run():
    keys = [(r["round"], r["system"], _family(r["benchmark"]), r["scenario"]) for r in _rows()]
    assert len(set(keys)) == len(keys)


def test_percentiles_ordered_and_in_seconds():
    for r in _rows():
        v = {c: float(r[c]) for c in LATENCY}
        for k in ("ttft", "tpot"):
            assert 0 < v[f"{k}_p50_s"] <= v[f"{k}_p90_s"] <= v[f"{k}_p99_s"] <= v[f"{k}_max_s"], (r["id"], k)
            assert v[f"{k}_mean_s"] <= v[f"{k}_max_s"], (r["id"], k)
        assert 1e-3 < v["tpot_p50_s"] < 1.0, r["id"]  # seconds, not ns or ms
        assert 1e-3 < v["ttft_p50_s"] < 30.0, r["id"]
        # the other printed percentiles in notes: p95 and p97 between p90 and p99, p99.9 between p99 and max
        for k, lab in (("ttft", "TTFT"), ("tpot", "TPOT")):
            m = re.search(lab + r" min ([\d.]+) s, p95 ([\d.]+) s, p97 ([\d.]+) s, p99.9 ([\d.]+) s", r["notes"])
            assert m, (r["id"], k)
            lo, p95, p97, p999 = (float(x) for x in m.groups())
            assert lo <= v[f"{k}_p50_s"], (r["id"], k)
            assert v[f"{k}_p90_s"] <= p95 <= p97 <= v[f"{k}_p99_s"] <= p999 <= v[f"{k}_max_s"], (r["id"], k)


def test_targets_and_valid_runs_meet_them():
    for r in _rows():
        ttft_t, tpot_t = float(r["ttft_target_s"]), float(r["tpot_target_s"])
        expected = TARGETS.get((_family(r["benchmark"]), r["scenario"]))
        if expected:
            assert (ttft_t, tpot_t) == expected, r["id"]
        assert float(r["tpot_p99_s"]) <= tpot_t, r["id"]
        assert float(r["ttft_p99_s"]) <= ttft_t, r["id"]


def test_ranges():
    for r in _rows():
        assert 0 < float(r["samples_per_s"]) < 1e5 and 0 < float(r["tokens_per_s"]) < 1e7, r["id"]
        # tokens per sample: completed tokens / completed samples, an output length between 1 and 2048 tokens
        assert 1 <= float(r["tokens_per_s"]) / float(r["samples_per_s"]) <= 2048, r["id"]
        for c in COUNTS:
            if r[c]:
                assert int(r[c]) >= 1, (r["id"], c)
        assert 1 <= int(r["n_devices"]) <= 128, r["id"]
        if r["tp"] and r["pp"]:
            assert int(r["tp"]) * int(r["pp"]) <= int(r["n_devices"]), r["id"]


def test_no_run_named_in_another_data_file():
    others = sorted((ROOT / "validation").glob("*.csv")) + sorted((ROOT / "bench" / "data").glob("*.csv"))
    shared = Path("/work/shared/reference/visible.csv")
    if shared.exists():
        others.append(shared)
    lines = [line.replace("llama3_1", "llama3.1") for p in others if p != CSV for line in p.read_text().splitlines()]
    for r in _rows():
        family = _family(r["benchmark"])
        hits = [x for x in lines if r["system"] in x and family in x and r["scenario"] in x]
        assert not hits, (r["id"], hits[:1])
