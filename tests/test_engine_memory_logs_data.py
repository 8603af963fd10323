"""Published engine start-up memory logs (bench/data/engine_memory_logs.csv): schema, units, sourcing and the
arithmetic the engines print. Reference data only; nothing is predicted here. A GiB figure written without the
2**30 conversion, a K size counted once instead of K + V, or a token count from the wrong row fails the checks
below (the bytes-per-token bound and the vLLM budget identity)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import heldout_data
from flopwatt import catalog
from flopwatt.perf.serving import kv_bytes_per_token

CSV = Path(__file__).resolve().parents[1] / "bench" / "data" / "engine_memory_logs.csv"
COLUMNS = ["id", "engine", "release", "scheduler", "accelerator", "model_hf_id", "tp", "pp", "dp", "ep",
           "weight_dtype", "kv_cache_dtype", "gpu_memory_utilization", "mem_fraction_static", "max_num_seqs",
           "max_num_batched_tokens", "max_model_len", "cuda_graphs", "total_memory_bytes", "weights_bytes",
           "non_torch_bytes", "activation_peak_bytes", "kv_cache_bytes", "kv_cache_tokens", "max_running_requests",
           "source", "retrieved", "notes"]
BYTE_COLUMNS = ["total_memory_bytes", "weights_bytes", "non_torch_bytes", "activation_peak_bytes", "kv_cache_bytes"]
COUNT_COLUMNS = ["tp", "pp", "dp", "ep", "max_num_seqs", "max_num_batched_tokens", "max_model_len", "kv_cache_tokens",
                 "max_running_requests"]
BUDGET_PARTS = ["weights_bytes", "non_torch_bytes", "activation_peak_bytes", "kv_cache_bytes"]
GIB = 2**30
PRINTED_SLACK_BYTES = 0.01 * GIB  # the engines print GiB to two decimals (SGLang: K and V, each rounded)
BUDGET_TOLERANCE_BYTES = 0.1 * GIB
# Rows whose model is a flopwatt catalog model (same shape); KV element bytes of kv_cache_dtype for 16-bit checkpoints.
CATALOG_MODEL = {
    "meta-llama/Llama-3.1-8B-Instruct": "llama3.1-8b",
    "meta-llama/Meta-Llama-3-8B-Instruct": "llama3-8b",
    "meta-llama/Llama-2-7b-hf": "llama2-7b",
    "meta-llama/Llama-2-70b-hf": "llama2-70b",
    "Qwen/Qwen2.5-32B-Instruct": "qwen2.5-32b",
    "Qwen/Qwen3-235B-A22B-FP8": "qwen3-235b-a22b",
    "moonshotai/Kimi-K2-Thinking": "kimi-k2",
}
KV_ELEMENT_BYTES = {"auto": 2.0, "fp8": 1.0}


def _rows() -> list[dict[str, str]]:
    return heldout_data.read(CSV)[1]


def _num(row: dict[str, str], column: str) -> float:
    return float(row[column])


def _thread(row: dict[str, str]) -> str:
    """The issue / pull request / page a row quotes (a repository file counts as its repository)."""
    url = row["source"].split()[0]
    blob = re.match(r"https://github\.com/[^/]+/[^/]+/blob/", url)
    return blob.group(0) if blob else url


def test_header_is_the_documented_schema():
    assert heldout_data.read(CSV)[0] == COLUMNS


def test_ids_are_unique_and_numbered():
    ids = [row["id"] for row in _rows()]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"EML\d{3}", i) for i in ids)


def test_enumerated_columns():
    for row in _rows():
        assert row["engine"] in {"vllm", "sglang"}, row["id"]
        assert row["scheduler"] in ({"v0", "v1"} if row["engine"] == "vllm" else {""}), row["id"]
        assert row["cuda_graphs"] in {"true", "false", ""}, row["id"]
        assert row["kv_cache_dtype"] in {"auto", "fp8", ""}, row["id"]
        assert row["retrieved"] == "2026-12-07", row["id"]


def test_each_engine_carries_only_its_own_memory_knob():
    for row in _rows():
        own, other = (("gpu_memory_utilization", "mem_fraction_static") if row["engine"] == "vllm"
                      else ("mem_fraction_static", "gpu_memory_utilization"))
        assert row[other] == "", row["id"]
        if row[own]:
            assert 0.0 < _num(row, own) <= 1.0, row["id"]


def test_counts_are_positive_integers_and_bytes_positive():
    for row in _rows():
        for column in COUNT_COLUMNS + BYTE_COLUMNS:
            if row[column]:
                assert re.fullmatch(r"[1-9]\d*", row[column]), (row["id"], column)
        assert row["tp"], row["id"]


def test_every_row_reports_a_memory_figure_and_quotes_its_source():
    for row in _rows():
        assert row["kv_cache_bytes"] or row["kv_cache_tokens"] or row["weights_bytes"], row["id"]
        assert row["model_hf_id"].count("/") == 1, row["id"]
        assert row["source"].startswith("https://") and "'" in row["source"], row["id"]


def test_bytes_are_si_not_gib():
    """A figure left in GiB (e.g. 8.11) would be far below one MiB."""
    for row in _rows():
        for column in BYTE_COLUMNS:
            if row[column]:
                assert _num(row, column) > 2**20, (row["id"], column)


def test_catalog_ids_are_real():
    known = catalog.accelerators()
    for row in _rows():
        if re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+|mi\d+x", row["accelerator"]):
            assert row["accelerator"] in known, row["id"]


def test_at_most_five_rows_per_thread():
    counts = Counter(_thread(row) for row in _rows())
    assert max(counts.values()) <= 5, counts.most_common(1)


def test_no_log_is_entered_twice():
    keys = [(_thread(row), row["model_hf_id"], row["tp"], row["pp"], row["dp"], row["kv_cache_dtype"],
             row["gpu_memory_utilization"], row["mem_fraction_static"], row["max_model_len"],
             row["kv_cache_bytes"], row["kv_cache_tokens"], row["weights_bytes"]) for row in _rows()]
    assert len(keys) == len(set(keys))


def test_parts_fit_inside_the_device():
    for row in _rows():
        if not row["total_memory_bytes"]:
            continue
        parts = [_num(row, c) for c in BUDGET_PARTS if row[c]]
        assert sum(parts) <= _num(row, "total_memory_bytes"), row["id"]


def test_vllm_budget_identity():
    """vLLM: weights + non-torch + activation peak + KV = total x gpu_memory_utilization (as its profiler prints)."""
    checked = 0
    for row in _rows():
        if row["engine"] != "vllm" or not all(row[c] for c in BUDGET_PARTS + ["total_memory_bytes",
                                                                              "gpu_memory_utilization"]):
            continue
        budget = _num(row, "total_memory_bytes") * _num(row, "gpu_memory_utilization")
        assert abs(sum(_num(row, c) for c in BUDGET_PARTS) - budget) <= BUDGET_TOLERANCE_BYTES, row["id"]
        checked += 1
    assert checked >= 1


def test_kv_tokens_fit_the_kv_bytes_for_catalog_models():
    """Tokens x the model's KV bytes per token on one rank (GQA heads split over TP; the MLA latent is not) cannot
    exceed the pool the engine printed."""
    models = catalog.models()
    checked = 0
    for row in _rows():
        model_id = CATALOG_MODEL.get(row["model_hf_id"])
        if not (model_id and row["kv_cache_bytes"] and row["kv_cache_tokens"]
                and row["kv_cache_dtype"] in KV_ELEMENT_BYTES):
            continue
        model = models[model_id]
        per_token = kv_bytes_per_token(model, KV_ELEMENT_BYTES[row["kv_cache_dtype"]])
        if model.mla is None:
            per_token /= min(int(row["tp"]), model.kv_heads)
        assert _num(row, "kv_cache_tokens") * per_token <= _num(row, "kv_cache_bytes") + PRINTED_SLACK_BYTES, row["id"]
        checked += 1
    assert checked >= 3
