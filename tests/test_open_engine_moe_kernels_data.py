"""Published fused-MoE kernel timings of the open engines (bench/data/open_engine_moe_kernels.csv): schema, units and
a physical bound per row (a row may not claim more FLOP/s than the device's dense peak, nor read the weights of its
top-k experts faster than the device's HBM bandwidth), so a unit slip (us read as ms, s) fails here."""

from __future__ import annotations

from pathlib import Path

import pytest

import heldout_data
from flopwatt import catalog

CSV = Path(__file__).resolve().parents[1] / "bench" / "data" / "open_engine_moe_kernels.csv"
COLUMNS = ["kernel", "engine", "engine_version_or_pr", "device", "dtype", "hidden", "moe_inter_per_gpu", "experts",
           "topk", "tokens", "time_s", "scope", "source", "retrieved", "notes"]
INT_FIELDS = ("hidden", "moe_inter_per_gpu", "experts", "topk", "tokens")
PRECISION = {"bf16": "bf16", "fp8": "fp8", "fp8_block128": "fp8"}
BYTES_PER_WEIGHT = {"bf16": 2, "fp8": 1, "fp8_block128": 1}
SCOPES = {"fused_moe_call"}
KEY = ("kernel", "engine_version_or_pr", "device", "dtype", "hidden", "moe_inter_per_gpu", "experts", "topk", "tokens")


def _rows() -> list[dict[str, str]]:
    return heldout_data.read(CSV)[1]


def test_header_is_the_documented_schema():
    assert heldout_data.read(CSV)[0] == COLUMNS


def test_rows_have_known_ids_positive_numbers_and_sources():
    rows = _rows()
    assert rows
    accelerators = catalog.accelerators()
    for row in rows:
        assert row["device"] in accelerators, row["device"]
        assert row["dtype"] in PRECISION and row["scope"] in SCOPES
        assert row["engine"] in ("vllm", "sglang") and row["kernel"]
        assert all(int(row[k]) > 0 for k in INT_FIELDS)
        assert int(row["topk"]) <= int(row["experts"])
        assert 0 < float(row["time_s"]) < 1.0, "one MoE call, in seconds"
        assert row["retrieved"] == "2026-12-07"
        assert row["source"].strip() and "PR #" in row["source"], "each row names the pull request it is printed in"
        assert row["notes"].strip()
    keys = [tuple(r[k] for k in KEY) for r in rows]
    assert len(keys) == len(set(keys)), "duplicate rows"


@pytest.mark.parametrize("row", _rows(), ids=lambda r: f"{r['device']}-{r['dtype']}-{r['tokens']}")
def test_row_is_below_the_device_peak_and_memory_bandwidth(row):
    """Gated MLP: 2 x tokens x topk x 3 x hidden x inter FLOP; at least topk experts' weights are read."""
    accelerator = catalog.accelerators()[row["device"]]
    hidden, inter, topk, tokens = (int(row[k]) for k in ("hidden", "moe_inter_per_gpu", "topk", "tokens"))
    time_s = float(row["time_s"])
    flops = 2 * tokens * topk * 3 * hidden * inter
    assert flops / time_s <= accelerator.peak(PRECISION[row["dtype"]])
    min_weight_bytes = topk * 3 * hidden * inter * BYTES_PER_WEIGHT[row["dtype"]]
    assert min_weight_bytes / time_s <= accelerator.hbm_bandwidth_bytes_per_s
