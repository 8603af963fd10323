"""NVIDIA NIM latency-versus-concurrency rows (bench/data/nim_llama_latency.csv) and their bench."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from nim_latency import DATA, at_concurrency  # noqa: E402


def _rows() -> list[dict[str, str]]:
    return list(csv.DictReader(DATA.open()))


def test_every_row_is_sourced_and_self_consistent():
    for row in _rows():
        assert row["source"].startswith("docs.nvidia.com/nim/benchmarking") and row["retrieved"] == "2026-12-06"
        clients, ttft, itl, out = (float(row[k]) for k in ("concurrency", "ttft_s", "itl_s", "output_len"))
        # closed loop: each client gets out tokens per (TTFT + (out - 1) ITL); the table's throughput cannot exceed it
        bound = clients * out / (ttft + (out - 1) * itl)
        assert float(row["output_tokens_per_s"]) <= bound * 1.02


def test_the_bench_batch_is_the_concurrency_until_the_kv_cache_is_full():
    rows = _rows()
    first = at_concurrency(rows[0])
    assert first["batch"] == float(rows[0]["concurrency"]) == 1.0 and first["saturated"] == 0.0
    batches = [at_concurrency(r)["batch"] for r in rows]
    assert all(b <= float(r["concurrency"]) for b, r in zip(batches, rows, strict=True))
    assert batches == sorted(batches)
