"""TensorRT-LLM perf-overview rows beyond the fit table: the MoE rows (bench/data/trtllm_perf_overview_moe.csv) and
the dense rows of the v0.17 table they come from (bench/data/trtllm_perf_overview_v0.17_dense.csv)."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest

from flopwatt import catalog

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
sys.path.insert(0, str(ROOT / "bench"))
from serving_vs_trtllm import DATA as FIT_TABLE  # noqa: E402

MOE = DATA / "trtllm_perf_overview_moe.csv"
DENSE_V017 = DATA / "trtllm_perf_overview_v0.17_dense.csv"
KEY = ("model", "accelerator", "tp", "precision", "input_len", "output_len")
RELEASES = {"258c7540c03517def55d9a5aadfa9288af474e1b": "v0.17", "00f37686aa854010d68bcbd0f4ab000221541ca6": "v1.0"}


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open()))


@pytest.mark.parametrize("path", [MOE, DENSE_V017], ids=["moe", "dense-v0.17"])
def test_header_ids_values_and_no_duplicates(path):
    with path.open() as f, FIT_TABLE.open() as fit:
        assert next(csv.reader(f)) == next(csv.reader(fit)), "same columns as the fit table"
    rows = _rows(path)
    assert rows
    for row in rows:
        model = catalog.get("models", row["model"])
        assert (model.moe is not None) == (path == MOE), row["model"]
        assert catalog.system_for(row["accelerator"]).accelerator.id == row["accelerator"]
        assert int(row["tp"]) in (1, 2, 4, 8) and row["precision"] in ("fp8", "fp16", "fp4")
        assert all(float(row[k]) > 0 for k in ("input_len", "output_len", "output_tokens_per_s"))
        assert row["retrieved"] == "2026-12-07"
    keys = [tuple(r[k] for k in KEY) for r in rows]
    assert len(keys) == len(set(keys)), "duplicate rows"


@pytest.mark.parametrize("path", [MOE, DENSE_V017], ids=["moe", "dense-v0.17"])
def test_every_row_names_its_release_commit_and_table(path):
    for row in _rows(path):
        src = row["source"]
        assert src.startswith("NVIDIA/TensorRT-LLM@") and ":docs/source/performance/perf-overview.md" in src
        commit = src.split("@", 1)[1].split(":", 1)[0]
        assert f"release {RELEASES[commit]} perf overview" in src
        assert f"'{row['model_name']}'" in src, "the table's own model name"

