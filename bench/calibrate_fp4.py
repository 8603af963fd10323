"""Fit the sustained FP4 matmul fraction of Blackwell (B200, GB200) on TensorRT-LLM's published throughput table.

Azure's cuBLASLt sweep puts a bare FP4 GEMM on GB200 at 1.106x the BF16 share of peak
(tools/efficiency_tables.py), yet with that figure the serving model reads TensorRT-LLM's 40 Blackwell
FP4 rows (bench/data/trtllm_perf_overview.csv) 1.3-1.4x high. This script scans the ``[low_precision]``
fp4 ratio of both devices and reports the mean |log(predicted / measured)| over those rows; the best
value is written to efficiency.toml as FITTED. It lumps what an FP4 serving iteration spends beyond its
GEMMs (NVFP4 activation quantisation, 8/16-bit attention) into the matmul rate; the MLPerf rows are
never read. Run: ``python bench/calibrate_fp4.py``.
"""

from __future__ import annotations

import csv
import dataclasses

import numpy as np

from flopwatt import catalog
from serving_vs_trtllm import DATA, predict

BLACKWELL = ("b200-sxm-180gb", "gb200")
RATIOS = (1.106, 1.0, 0.9, 0.8, 0.7, 0.65, 0.6, 0.55, 0.5)


def _log_errors(ratio: float) -> np.ndarray:
    shipped = catalog.efficiency
    low = {acc: dict(r) for acc, r in shipped().low_precision.items()}
    for acc in BLACKWELL:
        low[acc]["fp4"] = ratio
    trial = dataclasses.replace(shipped(), low_precision=low)
    catalog.efficiency = lambda: trial  # the serving model reads its efficiencies through this function
    try:
        logs = [np.log(predicted / float(row["output_tokens_per_s"])) for row in csv.DictReader(DATA.open())
                if row["accelerator"] in BLACKWELL and row["precision"] == "fp4" and (predicted := predict(row))]
        return np.array(logs)
    finally:
        catalog.efficiency = shipped


def main() -> None:
    best = None
    for ratio in RATIOS:
        logs = _log_errors(ratio)
        score = float(np.mean(np.abs(logs)))
        best = (score, ratio) if best is None or score < best[0] else best
        print(f"fp4 ratio {ratio:5.3f}: mean |log error| {score:.4f}, median log error {np.median(logs):+.4f} "
              f"over {len(logs)} rows")
    print(f"best: {best[1]} (mean |log error| {best[0]:.4f})")


if __name__ == "__main__":
    main()
