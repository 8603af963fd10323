"""The expert GEMM rule against DeepGEMM's published grouped FP8 kernel tables (H800, a set the model never fits).

bench/data/deepgemm_h800_fp8_grouped.csv is the "Grouped GEMMs for MoE models" tables (contiguous layout for
prefill, masked layout for decoding) of the deepseek-ai/DeepGEMM README in its H800 / NVCC 12.8 revision, the
one bench/data/deepgemm_h800_fp8.csv was taken from (commit not recorded; retrieved 2026-12-06 through the code
index). Each row is ``groups`` experts of ``m_per_group`` tokens, N x K weights each; its time is
groups x 2MNK / its TFLOP/s. The model's is how :func:`flopwatt.perf.serving_step.linear_time` runs routed
experts: ``groups`` calls of one expert's size, each :meth:`flopwatt.perf.compute.DeviceRates.gemm_time` of its
FLOPs and bytes (A, B in FP8, D in BF16) with the serving rates of an FP8 H800.
Run: ``python bench/deepgemm_grouped.py``.
"""

from __future__ import annotations

import csv
import statistics
from pathlib import Path

import numpy as np

from flopwatt import catalog
from flopwatt.serve import _rates

DATA = Path(__file__).with_name("data") / "deepgemm_h800_fp8_grouped.csv"


def main() -> None:
    rates = _rates(catalog.system_for("h800-sxm5-80gb"), "fp8")
    errors: dict[str, list[float]] = {}
    print(f"{'layout':10} {'G':>2} {'M/G':>5} {'N':>5} {'K':>5} {'measured':>9} {'model':>9} {'error':>7}")
    for row in csv.DictReader(DATA.open()):
        g, m, n, k = (float(row[c]) for c in ("groups", "m_per_group", "n", "k"))
        flops, nbytes = np.array([2 * m * n * k]), np.array([m * k + n * k + 2 * m * n])
        measured = g * flops[0] / (float(row["tflops_per_s"]) * 1e12)
        model = g * rates.gemm_time(flops, nbytes, linear=True)[0]
        errors.setdefault(row["layout"], []).append(model / measured - 1)
        print(f"{row['layout']:10} {g:2.0f} {m:5.0f} {n:5.0f} {k:5.0f} {measured * 1e6:7.1f}us {model * 1e6:7.1f}us "
              f"{100 * (model / measured - 1):+6.1f}%")
    for layout, errs in errors.items():
        print(f"{layout}: median error {100 * statistics.median(errs):+.1f}%, median |error| "
              f"{100 * statistics.median(map(abs, errs)):.1f}% over {len(errs)} rows")


if __name__ == "__main__":
    main()
