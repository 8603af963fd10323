"""The GEMM time rule against DeepGEMM's published FP8 kernel table (H800, a set the model never fits).

bench/data/deepgemm_h800_fp8.csv is the "Normal GEMMs for dense models" table of the deepseek-ai/DeepGEMM
README (H800 SXM, NVCC 12.8, FP8 inputs with fine-grained scales, BF16 output; M = 64 and 128 are decode
shapes, M = 4096 prefill). Each row's time is 2MNK / its TFLOP/s; the model's is
:meth:`flopwatt.perf.compute.DeviceRates.gemm_time` of the same FLOPs and bytes (A and B in FP8, D in
BF16) with the serving rates of an FP8 H800, once as the model runs it (the smooth roofline of
``[gemm_call] roofline_norm``) and once with the sharp max. The serving rates carry the framework
factor K of the efficiency tables, so compute-bound rows are expected to read slow against a bare kernel.
Run: ``python bench/deepgemm_shapes.py``.
"""

from __future__ import annotations

import csv
import dataclasses
import statistics
from pathlib import Path

import numpy as np

from flopwatt import catalog
from flopwatt.serve import _rates

DATA = Path(__file__).with_name("data") / "deepgemm_h800_fp8.csv"


def main() -> None:
    rates = _rates(catalog.system_for("h800-sxm5-80gb"), "fp8")
    sharp = dataclasses.replace(rates, roofline_norm=None)
    errors: dict[str, list[float]] = {f"smooth roofline n = {rates.roofline_norm}": [], "sharp max": []}
    print(f"{'M':>5} {'N':>6} {'K':>6} {'measured':>9} {'model':>8} {'error':>7}   (sharp max)")
    for row in csv.DictReader(DATA.open()):
        m, n, k = (float(row[c]) for c in ("m", "n", "k"))
        flops, nbytes = np.array([2 * m * n * k]), np.array([m * k + n * k + 2 * m * n])
        measured = flops[0] / (float(row["tflops_per_s"]) * 1e12)
        both, compute_only = (r.gemm_time(flops, nbytes, linear=True)[0] for r in (rates, sharp))
        for name, t in zip(errors, (both, compute_only), strict=True):
            errors[name].append(t / measured - 1)
        print(f"{m:5.0f} {n:6.0f} {k:6.0f} {measured * 1e6:7.1f}us {both * 1e6:6.1f}us "
              f"{100 * (both / measured - 1):+6.1f}%   {100 * (compute_only / measured - 1):+6.1f}%")
    for name, errs in errors.items():
        small = errs[:12]
        print(f"{name}: median error {100 * statistics.median(errs):+.1f}% (M <= 128: "
              f"{100 * statistics.median(small):+.1f}%), median |error| {100 * statistics.median(map(abs, errs)):.1f}%")


if __name__ == "__main__":
    main()
