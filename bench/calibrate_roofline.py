"""Fit the smooth-roofline exponent n of one GEMM call on TensorRT-LLM's published Hopper throughput table.

A kernel near the ridge point cannot hide all of its memory traffic under its arithmetic, so a call
takes ``(compute^n + memory^n)^(1/n)`` rather than ``max(compute, memory)`` (n = inf). The exponent is
fitted once, here, on the 60 H100/H200 FP8 rows of bench/data/trtllm_perf_overview.csv (the set
``bench/serving_vs_trtllm.py`` compares with; the MLPerf validation rows are never read), by the mean
of |log(predicted / measured)|, and written to ``[gemm_call] roofline_norm`` of
src/flopwatt/catalog/efficiency.toml. Run: ``python bench/calibrate_roofline.py``.
"""

from __future__ import annotations

import csv
import dataclasses

import numpy as np

from flopwatt import catalog
from serving_vs_trtllm import DATA, predict

NORMS = (None, 5.0, 4.0, 3.5, 3.0, 2.75, 2.5, 2.25, 2.0, 1.5)


def _log_errors(norm: float | None) -> np.ndarray:
    """log(predicted / measured) of every row with the catalog's efficiencies but exponent ``norm``."""
    shipped = catalog.efficiency
    trial = dataclasses.replace(shipped(), roofline_norm=norm)
    catalog.efficiency = lambda: trial  # the serving model reads its efficiencies through this function
    try:
        logs = [np.log(predicted / float(row["output_tokens_per_s"])) for row in csv.DictReader(DATA.open())
                if row["accelerator"].startswith(("h100", "h200")) and (predicted := predict(row))]
        return np.array(logs)
    finally:
        catalog.efficiency = shipped


def main() -> None:
    best = None
    for norm in NORMS:
        logs = _log_errors(norm)
        score = float(np.mean(np.abs(logs)))
        best = (score, norm) if best is None or score < best[0] else best
        print(f"n = {'max' if norm is None else norm:>4}: mean |log error| {score:.4f}, median |log error| "
              f"{np.median(np.abs(logs)):.4f}, median log error {np.median(logs):+.4f} over {len(logs)} rows")
    print(f"best: n = {best[1]} (mean |log error| {best[0]:.4f})")


if __name__ == "__main__":
    main()
