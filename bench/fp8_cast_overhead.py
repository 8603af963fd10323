"""FP8 cast traffic (catalog ``[fp8_cast.torchao-tensorwise]``) against torchao's published Float8Linear speedups.

torchao/float8/README.md (pytorch/ao@c1fa677, Performance) reports the fwd+bwd speedup of a tensorwise Float8Linear
over a bf16 Linear on H100 at two shapes: 0.80 at M, K, N = 1024, 2048, 1024 and 1.39 at 4096, 8192, 16384. The
model's linear takes three GEMMs (output M x K x N, input gradient M x N x K, weight gradient K x M x N) by
:meth:`flopwatt.perf.compute.DeviceRates.gemm_time` with torchtitan's FP8 rates on an H100 SXM 80GB, plus
:func:`flopwatt.perf.compute.linear_cast_times` in FP8; bf16 is the same GEMMs at 16 bits and no casts.
Nothing here is fitted: it shows how far the GEMM tables and the cast traffic together explain the two points.
Run: ``python bench/fp8_cast_overhead.py``.
"""

from __future__ import annotations

import numpy as np

from flopwatt import catalog
from flopwatt.perf.compute import linear_cast_times
from flopwatt.perf.training import search_context
from flopwatt.specs import TrainingWorkload

PUBLISHED = ((1024, 2048, 1024, 0.80), (4096, 8192, 16384, 1.39))


def linear_time(rates, m: float, k: float, n: float, low: bool) -> float:
    """Forward + backward of one linear: its three GEMMs, plus the FP8 casts when ``low``."""
    total = 0.0
    for a, b, c in ((m, k, n), (m, n, k), (k, m, n)):  # output, input gradient, weight gradient
        flops, nbytes = np.array([2 * a * b * c]), np.array([(1 if low else 2) * (a * b + b * c) + 2 * a * c])
        total += float(rates.gemm_time(flops, nbytes, linear=low)[0])
    if low:
        fwd, bwd, _ = linear_cast_times(rates.fp8_cast, rates, np.array([m * k]), np.array([k * n]),
                                        np.array([m * n]))
        total += float(fwd[0] + bwd[0])
    return total


def main() -> None:
    system = catalog.system_for("h100-sxm5-80gb")
    workload = TrainingWorkload(model=catalog.get("models", "llama3-8b"), seq_len=8192, precision="fp8")
    rates = search_context(workload, system, catalog.get("stacks", "torchtitan"), 8).rates
    print(f"{'M':>5} {'K':>6} {'N':>6} {'published':>9} {'model':>6} {'no casts':>8}")
    for m, k, n, published in PUBLISHED:
        bf16 = linear_time(rates, m, k, n, low=False)
        fp8 = linear_time(rates, m, k, n, low=True)
        bare = fp8 - sum(float(x[0]) for x in linear_cast_times(rates.fp8_cast, rates, np.array([m * k]),
                                                                   np.array([k * n]), np.array([m * n]))[:2])
        print(f"{m:5d} {k:6d} {n:6d} {published:9.2f} {bf16 / fp8:6.2f} {bf16 / bare:8.2f}")


if __name__ == "__main__":
    main()
