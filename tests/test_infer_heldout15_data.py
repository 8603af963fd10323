"""Shape checks on validation/infer_heldout15.csv, the fifteenth serving hold-out (data only: no flopwatt prediction is
made on these rows, see validation/SPLIT_infer.md). Written in the shared schema as an outside party would write it:
new prefixes with no conventions entry, framework blank (AMD's MLPerf harness and MangoBoost's LLMBoost are not in
DATASET.md's list), the engine and configuration in notes only.

Focus decided by the lead before any prediction: MLPerf Inference v6.0/v5.1 closed-division LLM results on AMD
Instinct MI350X and MI355X (catalog ids ``mi350x``, ``mi355x``; outside DATASET.md's accelerator enum, which is why
they are allowed here explicitly) by AMD's vLLM-based harness or a partner's ROCm engine, in combinations no earlier
file has; the MI350X llama2-70b-99 measurements, the three gpt-oss-120b MI355X submitters, and the Dell_MangoBoost
power-capped MI355X rows as a separate subset (cap and engine named in notes); 15-40 rows from at least 3 submitters,
none above 40 %. Ids, prefixes and repeated measurements are checked in tests/test_heldout_files.py."""

from __future__ import annotations

import re

import heldout_data
from flopwatt import validate as val
from heldout_data import ROOT

CSV = ROOT / "validation" / "infer_heldout15.csv"
MIN_ROWS, MAX_ROWS = 15, 40  # the focus: 15 to 40 rows
MIN_SOURCES = 3  # the focus: at least 3 submitters (one id prefix each)
MAX_SHARE_OF_ONE_SOURCE = 0.4  # the focus: no submitter above 40 % of the rows
MAX_TOKENS_PER_S_PER_DEVICE = 20000  # range check only
FOCUS_ACCELERATORS = {"mi350x", "mi355x"}
"""The focus's accelerators: catalog ids outside DATASET.md's enum (heldout_data.SHARED_ACCELERATORS)."""
BENCHMARKS = {"llama2-70b-99", "gpt-oss-120b"}
SERVER_LIMITS = {"llama2-70b-99": {("2", "0.2"), ("0.45", "0.04")}, "gpt-oss-120b": {("3", "0.08")}}
"""MLPerf p99 limits (TTFT s, TPOT s): llama2-70b Server and Interactive, gpt-oss-120b Server."""
LOG = re.compile(r"closed/[\w-]+/results/[\w-]+/([\w.-]+)/(Offline|Server|Interactive)/performance/run_1/"
                 r"mlperf_log_summary\.txt")
RATE = re.compile(r"'(?:Completed )?[Tt]okens per second' ([\d.]+) in the log")
SAMPLES = re.compile(r"(?:Completed samples|Samples) per second ([\d.]+), i\.e\. ([\d.]+) generated tokens per sample")
POWER_CAP = "POWER CAP: every MI355X capped at 1000 W"
CAPPED_PREFIX = "AM15D"  # Dell_MangoBoost, the separate power-capped LLMBoost subset
LLAMA_OUTPUT_LEN = "294.45"  # the reference mean generated tokens per sample, as the earlier AMD MLPerf hold-outs


def _rows() -> list[dict[str, str]]:
    return heldout_data.rows(CSV)


def _benchmark_and_scenario(row: dict[str, str]) -> tuple[str, str]:
    found = LOG.findall(row["source"])
    assert len(found) == 1, row["id"]
    return found[0]


def test_enums_units_and_held_out_marker():
    """Shared-schema MLPerf rows: blank framework, generated tokens/s, offline or server, an MI350X/MI355X catalog id
    (the focus's explicit allowance beyond DATASET.md's enum), the fifteenth hold-out's marker."""
    for r in _rows():
        assert r["kind"] == "infer" and r["unit"] == "tokens/s", r["id"]
        assert r["framework"] == "" and r["metric"] == "output_tokens_per_s", r["id"]
        assert r["metric"] in val.INFER_METRICS and r["scenario"] in {"offline", "server"}, r["id"]
        assert r["accelerator"] in FOCUS_ACCELERATORS, r["id"]
        assert r["accelerator"] not in heldout_data.SHARED_ACCELERATORS, r["id"]
        assert r["source"].startswith("MLPerf Inference v6.0 closed") and r["network"], r["id"]
        assert "HELD OUT" in r["notes"] and "fifteenth hold-out" in r["notes"], r["id"]


def test_focus_decided_before_any_prediction():
    """15-40 rows from at least 3 submitters, none above 40 %; MI350X rows are llama2-70b-99 and the three
    gpt-oss-120b submitters are all there."""
    rows = _rows()
    heldout_data.check_source_shares(rows, (MIN_ROWS, MAX_ROWS), MIN_SOURCES, MAX_SHARE_OF_ONE_SOURCE)
    assert {r["accelerator"] for r in rows} == FOCUS_ACCELERATORS
    gpt = {heldout_data.source_prefix(r) for r in rows if _benchmark_and_scenario(r)[0] == "gpt-oss-120b"}
    assert len(gpt) == 3, gpt
    for r in rows:
        bench, _ = _benchmark_and_scenario(r)
        assert bench in BENCHMARKS, r["id"]
        if r["accelerator"] == "mi350x":
            assert bench == "llama2-70b-99", r["id"]


def test_scenario_limits_and_lengths_follow_the_log():
    """Offline rows carry no limits; Server and Interactive rows the benchmark's p99 limits. value = the log's
    printed token rate; llama2-70b output_len the reference mean, gpt-oss-120b the log's tokens per sample."""
    for r in _rows():
        bench, scenario = _benchmark_and_scenario(r)
        assert r["scenario"] == ("offline" if scenario == "Offline" else "server"), r["id"]
        if scenario == "Offline":
            assert not r["ttft_p99_s"] and not r["tpot_p99_s"], r["id"]
        else:
            assert (r["ttft_p99_s"], r["tpot_p99_s"]) in SERVER_LIMITS[bench], r["id"]
        assert (r["tpot_p99_s"] == "0.04") == (scenario == "Interactive"), r["id"]
        assert RATE.search(r["notes"]).group(1) == r["value"], r["id"]
        samples, per_sample = (float(x) for x in SAMPLES.search(r["notes"]).groups())
        assert abs(float(r["value"]) / samples - per_sample) <= 0.05 + 1e-9, r["id"]
        assert "derived" in r["notes"] and not r["input_len"], r["id"]
        if bench == "llama2-70b-99":
            assert r["output_len"] == LLAMA_OUTPUT_LEN, r["id"]
        else:
            assert r["output_len"] == f"{per_sample:.1f}", r["id"]


def test_plan_only_where_the_configuration_states_it():
    """tp = 1 (one engine per GPU, dp = n_devices) where a configuration file is cited; tp, pp, dp blank where the
    submission states no tensor-parallel degree (Supermicro_RedHat, Dell_MangoBoost)."""
    for r in _rows():
        if r["tp"]:
            assert r["tp"] == "1" and r["pp"] == "1" and r["dp"] == r["n_devices"], r["id"]
            assert "tensor_parallel_size 1" in r["notes"] and ".yaml" in r["source"], r["id"]
        else:
            assert not r["pp"] and not r["dp"] and "left blank" in r["notes"], r["id"]


def test_power_capped_subset_is_stated_and_named():
    """The Dell_MangoBoost rows, and only they, say their 1000 W cap and name the LLMBoost engine."""
    for r in _rows():
        capped = heldout_data.source_prefix(r) == CAPPED_PREFIX
        assert (POWER_CAP in r["notes"]) == capped, r["id"]
        assert ("LLMBoost" in r["notes"]) == capped, r["id"]
        if capped:
            assert r["accelerator"] == "mi355x" and "Power_Cap_1000W" in r["source"], r["id"]


def test_rows_are_in_range_and_in_the_catalog():
    """Run inputs published (the plan where given uses exactly the row's devices), a physical generated-token rate,
    a catalog accelerator with a peak at the row's precision, the architecture carried, MoE rows all MoE columns."""
    for r in _rows():
        heldout_data.check_published_row(r, MAX_TOKENS_PER_S_PER_DEVICE)


def test_read_by_the_validation_reader():
    """validate's own reader accepts the file (header order, numeric cells)."""
    assert len(val.read_rows(CSV)) == len(_rows())
