"""Shape checks on validation/infer_heldout17.csv, the seventeenth serving hold-out (data only: no flopwatt prediction
is made on these rows, see validation/SPLIT_infer.md). Written in the shared schema as an outside party would write it:
new prefixes with no conventions entry, framework blank (vLLM, SGLang and AMD's MLPerf harness are not in DATASET.md's
list), the engine build and configuration in notes only.

Focus decided by the lead before any prediction: MLPerf Inference v6.1 closed-division LLM results (llama2-70b,
llama3.1-8b, llama3.1-405b, mixtral-8x7b, gpt-oss-120b, deepseek-r1) whose engine is not TensorRT-LLM: AMD Instinct
accelerators with AMD's vLLM-based harness or a partner's ROCm engine, and NVIDIA-accelerator submissions run on vLLM
or SGLang; no heterogeneous system, compliance run or open-division result; 15-40 rows from at least 3 submitters,
none above 40 %. Ids, prefixes and repeated measurements are checked in tests/test_heldout_files.py."""

from __future__ import annotations

import re

import heldout_data
from flopwatt import validate as val
from heldout_data import ROOT

CSV = ROOT / "validation" / "infer_heldout17.csv"
COMMIT = "intel-ai-tce/inference_results_v6.1@5174fca85775b97127da8e3ff07f1bb776880fc4"
MIN_ROWS, MAX_ROWS = 15, 40  # the focus: 15 to 40 rows
MIN_SOURCES = 3  # the focus: at least 3 submitters (one id prefix each)
MAX_SHARE_OF_ONE_SOURCE = 0.4  # the focus: no submitter above 40 % of the rows
MAX_TOKENS_PER_S_PER_DEVICE = 25000  # range check only (llama3.1-8b on one MI355X is near 20,000)
FOCUS_ACCELERATORS = {"mi350x", "mi355x", "gb200"}
"""As collected: MI350X and MI355X by catalog id (outside DATASET.md's enum, the focus admits them) and GB200."""
NVIDIA_OPEN_ENGINE_PREFIX = "MP61R"  # the one NVIDIA-accelerator vLLM submission collected
BENCHMARKS = {"llama2-70b-99.9", "llama3.1-8b", "gpt-oss-120b", "deepseek-r1"}
LIMITS = {
    ("llama2-70b-99.9", "Server"): ("2", "0.2"), ("llama2-70b-99.9", "Interactive"): ("0.45", "0.04"),
    ("llama3.1-8b", "Server"): ("2", "0.1"), ("llama3.1-8b", "Interactive"): ("0.5", "0.03"),
    ("gpt-oss-120b", "Server"): ("3", "0.08"), ("deepseek-r1", "Server"): ("2", "0.08"),
}
"""MLPerf p99 limits (TTFT s, TPOT s) as each log's ttft_latency/tpot_latency prints them."""
LOG = re.compile(r"closed/([\w-]+)/results/([\w-]+)/([\w.-]+)/(Offline|Server|Interactive)/performance/run_1/"
                 r"mlperf_log_summary\.txt")
RATE = re.compile(r"'(?:Completed )?Tokens per second' ([\d.e+]+) in the log", re.IGNORECASE)
SUMMARY = re.compile(r"summary\.csv Result ([\d.]+)\)")
SAMPLES = re.compile(r"(?:Completed samples|Samples) per second ([\d.]+), i\.e\. ([\d.]+) generated tokens per sample")
LLAMA8_CONFLICT = "llama3.1-8b precision conflict"  # the subset the placement section names
OWN_MXFP4 = "sw_notes 'MXFP4 (W4A4) weights with FP8 KV cache"  # HPE's and Oracle's systems JSONs
LLAMA_OUTPUT_LEN = "294.45"  # the reference mean generated tokens per sample, as the earlier AMD MLPerf hold-outs


def _rows() -> list[dict[str, str]]:
    return heldout_data.rows(CSV)


def _log(row: dict[str, str]) -> tuple[str, str, str, str]:
    found = LOG.findall(row["source"])
    assert len(found) == 1, row["id"]
    return found[0]


def test_enums_units_sources_and_held_out_marker():
    """Shared-schema MLPerf rows: blank framework, generated tokens/s, offline or server, a focus accelerator, the
    v6.1 copy at its commit in every source, the seventeenth hold-out's marker."""
    for r in _rows():
        assert r["kind"] == "infer" and r["unit"] == "tokens/s", r["id"]
        assert r["framework"] == "" and r["metric"] == "output_tokens_per_s", r["id"]
        assert r["metric"] in val.INFER_METRICS and r["scenario"] in {"offline", "server"}, r["id"]
        assert r["accelerator"] in FOCUS_ACCELERATORS, r["id"]
        assert r["source"].startswith("MLPerf Inference v6.1 closed") and COMMIT in r["source"], r["id"]
        assert r["network"] and "HELD OUT" in r["notes"] and "seventeenth hold-out" in r["notes"], r["id"]


def test_focus_decided_before_any_prediction():
    """15-40 rows from at least 3 submitters, none above 40 %; the listed benchmarks only; NVIDIA accelerators only in
    the vLLM submission; the submitter in the id prefix is the one in the log path."""
    rows = _rows()
    heldout_data.check_source_shares(rows, (MIN_ROWS, MAX_ROWS), MIN_SOURCES, MAX_SHARE_OF_ONE_SOURCE)
    by_prefix: dict[str, set[str]] = {}
    for r in rows:
        submitter, _, bench, _ = _log(r)
        assert bench in BENCHMARKS, r["id"]
        by_prefix.setdefault(heldout_data.source_prefix(r), set()).add(submitter)
        nvidia = r["accelerator"] == "gb200"
        assert nvidia == (heldout_data.source_prefix(r) == NVIDIA_OPEN_ENGINE_PREFIX), r["id"]
        if nvidia:
            assert "vLLM 0.24.0" in r["notes"], r["id"]
    assert all(len(s) == 1 for s in by_prefix.values()), by_prefix


def test_values_limits_and_lengths_follow_the_log():
    """value = the log's printed token rate (the results table repeats it to 6 significant digits); Server and
    Interactive rows carry the log's limits, Offline rows none; llama2-70b output_len the reference mean, the others
    the log's tokens per sample."""
    for r in _rows():
        _, _, bench, scenario = _log(r)
        assert r["scenario"] == ("offline" if scenario == "Offline" else "server"), r["id"]
        assert (r["ttft_p99_s"], r["tpot_p99_s"]) == LIMITS.get((bench, scenario), ("", "")), r["id"]
        printed = float(RATE.search(r["notes"]).group(1))
        value = float(r["value"])
        assert abs(printed - value) <= 1e-5 * value, r["id"]
        assert abs(float(SUMMARY.search(r["notes"]).group(1)) - value) <= 5e-6 * value, r["id"]  # 6 significant digits
        samples, per_sample = (float(x) for x in SAMPLES.search(r["notes"]).groups())
        assert abs(value / samples - per_sample) <= 0.05 + 1e-9, r["id"]
        assert "derived" in r["notes"] and "result VALID" in r["notes"] and not r["input_len"], r["id"]
        if bench.startswith("llama2-70b"):
            assert r["output_len"] == LLAMA_OUTPUT_LEN, r["id"]
        else:
            assert r["output_len"] == f"{per_sample:.1f}", r["id"]


def test_plan_only_where_stated():
    """tp, pp, dp given only where a configuration file or the submitter's own description states the tensor-parallel
    degree (and then they use exactly the row's devices); blank with the reason otherwise."""
    for r in _rows():
        if r["tp"]:
            assert int(r["tp"]) * int(r["pp"]) * int(r["dp"]) == int(r["n_devices"]), r["id"]
            assert "Plan: " in r["notes"], r["id"]
            stated = ("tensor_parallel_size 1", "tensor_parallel_size=1", "TP8")
            assert any(s in r["notes"] for s in stated), r["id"]
            if r["tp"] != "1":
                assert r["ep"] == "8" and "DP-attention8" in r["notes"], r["id"]
        else:
            assert not r["pp"] and not r["dp"] and "Plan left blank" in r["notes"], r["id"]


def test_engine_build_from_the_systems_json():
    """Each row quotes its system's description file (closed/<submitter>/systems/<system>.json, the one named by the
    log path) for the engine build; the docker image is named in no file read, and the notes say so."""
    for r in _rows():
        submitter, system, _, _ = _log(r)
        assert f"closed/{submitter}/systems/{system}.json" in r["notes"], r["id"]
        assert "not named in any file read" in r["notes"], r["id"]


def test_precision_follows_the_configuration_read():
    """fp4 where the loaded configuration or the system description names MXFP4 weights (quoted); llama3.1-8b rows
    carry the precision-conflict subset: fp4 where the submitter's own systems JSON names MXFP4 weights or its own
    llama3.1-8b YAML reads MXFP4 (marked assumed: for another accelerator's file), else the results table's fp8;
    GB200 vLLM rows keep the declared fp8."""
    for r in _rows():
        _, _, bench, _ = _log(r)
        if bench == "llama3.1-8b":
            assert LLAMA8_CONFLICT in r["notes"] and "MXFP4 weights + FP8 KV cache" in r["notes"], r["id"]
            if r["precision"] == "fp4":
                own_json = OWN_MXFP4 in r["notes"]  # the submitter's own systems JSON names MXFP4 weights
                assert own_json or ("assumed:" in r["notes"] and "closed/MiTAC/src/llama3.1-8b" in r["notes"]), r["id"]
            else:
                assert r["precision"] == "fp8" and "weight_data_types ('fp8')" in r["notes"], r["id"]
        elif r["accelerator"] == "gb200":
            assert r["precision"] == "fp8" and "conflict noted" in r["notes"], r["id"]
        else:
            assert r["precision"] == "fp4", r["id"]
            if heldout_data.source_prefix(r) in {"MP61H", "MP61O"}:
                assert OWN_MXFP4 in r["notes"], r["id"]
            if r["tp"] and bench == "gpt-oss-120b" and heldout_data.source_prefix(r) == "MP61A":
                assert "quantization: mxfp4" in r["notes"], r["id"]


def test_multi_node_plans_are_per_node_engines():
    """The 9-node and 64-node rows: one engine per GPU (gpt-oss, tp 1) or per 8-GPU node (deepseek-r1, tp 8 / ep 8),
    dp derived from the node count in notes."""
    for r in _rows():
        n = int(r["n_devices"])
        if n > 8 and r["tp"]:
            assert int(r["dp"]) == n // int(r["tp"]) and "derived" in r["notes"], r["id"]
            assert "device_count 8 per node" in r["notes"] or "(per node)" in r["notes"] or "device_count=512" in \
                r["notes"], r["id"]


def test_rows_are_in_range_and_in_the_catalog():
    """Run inputs published, a physical generated-token rate, a catalog accelerator with a peak at the row's
    precision, the architecture carried, MoE rows all MoE columns."""
    for r in _rows():
        heldout_data.check_published_row(r, MAX_TOKENS_PER_S_PER_DEVICE)


def test_read_by_the_validation_reader():
    """validate's own reader accepts the file (header order, numeric cells)."""
    assert len(val.read_rows(CSV)) == len(_rows())
