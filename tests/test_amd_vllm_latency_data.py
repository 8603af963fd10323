"""bench/data/amd_vllm_latency.csv: AMD's published vLLM latency table on 8 MI300X (ROCm/vllm docs/dev-docker), as
transcribed for bench/amd_vllm_latency.py (no validation or fit reads it)."""

from __future__ import annotations

import csv
from itertools import groupby
from pathlib import Path

from flopwatt import catalog

DATA = Path(__file__).resolve().parents[1] / "bench" / "data" / "amd_vllm_latency.csv"
SOURCE = "ROCm/vllm@f8c9a385233a8e1f724411785a1c326006640df5 docs/dev-docker/README.md"
BATCHES = ["1", "2", "4", "8", "16", "32", "64", "128"]


def _rows() -> list[dict[str, str]]:
    with DATA.open(newline="") as f:
        return list(csv.DictReader(f))


def test_the_table_as_published_two_models_two_length_pairs_eight_batches():
    rows = _rows()
    assert [r["id"] for r in rows] == [f"AMDLAT-{k:02d}" for k in range(1, 33)]
    for r in rows:
        assert r["source"].startswith(SOURCE) and r["retrieved"] == "2026-12-07", r["id"]
        assert r["model"] in catalog.models() and r["precision"] == "fp8" and r["tp"] == "8", r["id"]
        assert r["output_tokens"] == "2048" and r["input_tokens"] in {"128", "2048"}, r["id"]
    blocks = [list(g) for _, g in groupby(rows, key=lambda r: (r["model"], r["input_tokens"]))]
    assert len(blocks) == 4 and all([r["batch"] for r in b] == BATCHES for b in blocks)


def test_a_bigger_batch_never_finishes_sooner():
    """Within each model and length pair the end-to-end latency rises with the batch (a transcription check)."""
    for _, block in groupby(_rows(), key=lambda r: (r["model"], r["input_tokens"])):
        latency = [float(r["latency_s"]) for r in block]
        assert all(b > a for a, b in zip(latency, latency[1:], strict=False)), latency
        assert 10.0 < latency[0] < latency[-1] < 200.0
