"""NVIDIA NIM latency-versus-concurrency rows (bench/data/nim_llama_latency.csv) and their bench."""

from __future__ import annotations

import csv
import sys
from itertools import groupby
from pathlib import Path

from flopwatt import catalog

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from nim_latency import DATA, at_concurrency  # noqa: E402

HEADER = ["model", "model_name", "accelerator", "tp", "precision", "input_len", "output_len", "concurrency", "ttft_s",
          "itl_s", "output_tokens_per_s", "engine", "source", "retrieved"]
TABLE_KEYS = ("model", "accelerator", "tp", "precision", "input_len", "output_len", "engine")


def _rows() -> list[dict[str, str]]:
    return list(csv.DictReader(DATA.open()))


def _tables() -> list[list[dict[str, str]]]:
    """Rows grouped by published table (same model, device, TP, precision, lengths, NIM version), file order."""
    return [list(rows) for _, rows in groupby(_rows(), key=lambda r: tuple(r[k] for k in TABLE_KEYS))]


def test_header_ids_and_values():
    with DATA.open() as f:
        assert next(csv.reader(f)) == HEADER
    rows = _rows()
    for row in rows:
        assert catalog.get("models", row["model"]) is not None
        assert catalog.system_for(row["accelerator"]).accelerator.id == row["accelerator"]
        assert int(row["tp"]) >= 1 and row["precision"] in ("fp8", "bf16", "fp16")
        assert all(float(row[k]) > 0 for k in ("input_len", "output_len", "concurrency", "ttft_s", "itl_s",
                                                "output_tokens_per_s"))
    keys = [tuple(r[k] for k in (*TABLE_KEYS, "concurrency")) for r in rows]
    assert len(keys) == len(set(keys)), "duplicate rows"


def test_every_row_is_sourced_and_self_consistent():
    for row in _rows():
        assert row["source"].startswith("docs.nvidia.com/nim/benchmarking")
        assert row["retrieved"] in ("2026-12-06", "2026-12-07")
        clients, ttft, itl, out = (float(row[k]) for k in ("concurrency", "ttft_s", "itl_s", "output_len"))
        # closed loop: each client gets out tokens per (TTFT + (out - 1) ITL); the table's throughput cannot exceed it
        bound = clients * out / (ttft + (out - 1) * itl)
        assert float(row["output_tokens_per_s"]) <= bound * 1.02


def test_each_table_is_contiguous_with_rising_concurrency():
    tables = _tables()
    assert len(tables) == len({tuple(t[0][k] for k in TABLE_KEYS) for t in tables}), "a table is split in the file"
    for table in tables:
        clients = [int(r["concurrency"]) for r in table]
        assert clients == sorted(set(clients)) and clients[0] == 1


def test_the_bench_batch_is_the_concurrency_until_the_kv_cache_is_full():
    for table in _tables():
        first = at_concurrency(table[0])
        assert first["batch"] == float(table[0]["concurrency"]) == 1.0 and first["saturated"] == 0.0
        batches = [at_concurrency(r)["batch"] for r in table]
        assert all(b <= float(r["concurrency"]) for b, r in zip(batches, table, strict=True))
        assert batches == sorted(batches)
