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
from pathlib import Path

import numpy as np

from flopwatt import catalog
from flopwatt.errors import InputError
from flopwatt.serve import ServeRequest, estimate_serving

DATA = Path(__file__).with_name("data") / "trtllm_perf_overview.csv"
NORMS = (None, 5.0, 4.0, 3.5, 3.0, 2.75, 2.5, 2.25, 2.0, 1.5)


def _rows() -> list[dict[str, str]]:
    return [r for r in csv.DictReader(DATA.open()) if r["accelerator"].startswith(("h100", "h200"))]


def _log_errors(norm: float | None) -> np.ndarray:
    """log(predicted / measured) of every row with the catalog's efficiencies but exponent ``norm``."""
    shipped = catalog.efficiency
    trial = dataclasses.replace(shipped(), roofline_norm=norm)
    catalog.efficiency = lambda: trial  # the serving model reads its efficiencies through this function
    try:
        logs = []
        for row in _rows():
            tp = int(row["tp"])
            req = ServeRequest(model=catalog.get("models", row["model"]), system=catalog.system_for(row["accelerator"]),
                               devices=tp, tp=tp, input_len=float(row["input_len"]),
                               output_len=float(row["output_len"]), precision=row["precision"])
            try:
                out = estimate_serving(req)
            except InputError:
                continue
            logs.append(np.log(out["metrics"]["output_tokens_per_s"] / float(row["output_tokens_per_s"])))
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
