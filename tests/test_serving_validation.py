"""Serving model against TensorRT-LLM's published throughput tables.

The rows (bench/data/trtllm_perf_overview.csv, NVIDIA's perf overview: trtllm-bench at an infinite
request rate, fixed input/output lengths, the TP NVIDIA published, CUDA-graph padding as its llm_options.yml
sets it) are IN-SAMPLE: the smooth-roofline exponent ``[gemm_call] roofline_norm`` was fitted on the Hopper FP8
rows and the Blackwell FP4 matmul ratio on the Blackwell rows (bench/calibrate_serving.py). These tests guard
against regressions; they do not validate the model (that is the MLPerf held-out check).
"""

from __future__ import annotations

import csv
import statistics
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from serving_vs_trtllm import DATA, predict  # noqa: E402

HOPPER = ("h100-sxm5-80gb", "h200-sxm-141gb")
BLACKWELL = ("b200-sxm-180gb", "gb200")


def _errors(accelerators: tuple[str, ...], count: int) -> list[float]:
    """Signed relative error of each table row on these accelerators (``count`` rows expected)."""
    rows = [r for r in csv.DictReader(DATA.open()) if r["accelerator"] in accelerators]
    assert len(rows) == count
    return [predict(r) / float(r["output_tokens_per_s"]) - 1 for r in rows]


@pytest.fixture(scope="module")
def errors() -> list[float]:
    return _errors(HOPPER, 60)


def test_hopper_fp8_median_error_within_10_percent(errors):
    assert statistics.median(abs(e) for e in errors) <= 0.10


def test_hopper_fp8_every_row_within_30_percent(errors):
    assert max(abs(e) for e in errors) <= 0.30


@pytest.fixture(scope="module")
def blackwell_errors() -> list[float]:
    return _errors(BLACKWELL, 40)


def test_blackwell_fp4_median_error_within_10_percent(blackwell_errors):
    assert statistics.median(abs(e) for e in blackwell_errors) <= 0.10


def test_blackwell_fp4_every_row_within_40_percent(blackwell_errors):
    assert max(abs(e) for e in blackwell_errors) <= 0.40
