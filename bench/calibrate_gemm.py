"""Derive the shared GEMM-efficiency constant K of tools/efficiency_tables.py.

Fits eff(F) = e_max * F / (F + t0 * e_max * peak) for the A100 by grid search over e_max on the
Megatron-LM rows of validation/visible.csv (Narayanan et al. 2021 Tables 1-2 PTD-P rows,
Korthikanti et al. 2022 Table 5 rows), minimising median + 0.5 x max absolute error; the other rows
(ZeRO-3, MT-NLG, BLOOM) are held out and printed as a check. K = e_max / (MAMF_A100 / peak).

t0, the fixed cost of one GEMM call, is NOT fitted: these rows barely constrain it (the fit is as
good from 5 to 90 us) while it decides how much faster devices lose on small GEMMs, so it is held
at the order of a kernel launch (NVIDIA Technical Blog, "Getting Started with CUDA Graphs", 2019:
a few microseconds per launch). ``--scan-t0`` prints the fit for other values. Not part of the
test run.

    python bench/calibrate_gemm.py
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np

from flopwatt import catalog
from flopwatt.catalog.efficiency import GemmTable
from flopwatt.validate import Skip, _train_row, read_rows

CSV = Path(__file__).resolve().parents[1] / "validation" / "visible.csv"
FIT_PREFIXES = ("MEG21-", "MEG21Z-07", "MEG21Z-08", "MEG21Z-09", "MEG21Z-10", "MEG21Z-11", "MEG21Z-12", "KOR22-")
A100_MAMF, A100_PEAK = 271.0, 312.0
SIZES = np.logspace(6, 14, 17)
T0_S = 5e-6


def errors_with_tables(rows: list[dict[str, str]], tables: dict[str, GemmTable]) -> dict[str, float]:
    """Signed relative error (predicted - published) / published of each row, the catalog's GEMM tables of the
    given accelerators replaced by ``tables`` (shared by the A100 and TPU fits)."""
    base = catalog.efficiency()
    patched = dataclasses.replace(base, gemm={**base.gemm, **tables})
    original = catalog.efficiency
    catalog.efficiency = lambda: patched  # the validation path reads the catalog through this function
    try:
        return signed_errors(rows)
    finally:
        catalog.efficiency = original


def signed_errors(rows: list[dict[str, str]]) -> dict[str, float]:
    """(predicted - published) / published of each training row the model predicts, by id (skipped rows left out)."""
    out = {}
    for row in rows:
        try:
            result = _train_row(row)
        except Skip:
            continue
        out[row["id"]] = (result.predicted - result.measured) / result.measured
    return out


def errors(rows: list[dict[str, str]], e_max: float, f_half: float) -> dict[str, float]:
    table = GemmTable(SIZES, e_max * SIZES / (SIZES + f_half), "fit")
    return errors_with_tables(rows, {"a100-sxm4-80gb": table})


def fit(rows: list[dict[str, str]], t0: float) -> tuple[float, float, float]:
    """Best e_max for this t0: (e_max, median error, max error) on ``rows``."""
    best = None
    for e_max in np.arange(0.56, 0.90, 0.01):
        err = np.abs(list(errors(rows, e_max, t0 * e_max * A100_PEAK * 1e12).values()))
        score = np.median(err) + 0.5 * err.max()
        if best is None or score < best[0]:
            best = (score, e_max, float(np.median(err)), float(err.max()))
    return best[1], best[2], best[3]


def main() -> None:
    rows = [r for r in read_rows(CSV) if r["kind"] == "train"]
    fit_rows = [r for r in rows if r["id"].startswith(FIT_PREFIXES)]
    if "--scan-t0" in sys.argv:
        for t0 in (2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4):
            e_max, med, worst = fit(fit_rows, t0)
            print(f"t0 {t0 * 1e6:5.0f} us: e_max {e_max:.2f}, fit rows median {med:.1%} max {worst:.1%}")
        return
    e_max, med, worst = fit(fit_rows, T0_S)
    print(f"fit on {len(fit_rows)} rows with t0 = {T0_S * 1e6:.0f} us: e_max = {e_max:.2f} "
          f"(median {med:.1%}, max {worst:.1%})")
    print(f"K = e_max / (MAMF/peak) = {e_max / (A100_MAMF / A100_PEAK):.4f}")
    for row_id, err in errors(rows, e_max, T0_S * e_max * A100_PEAK * 1e12).items():
        held = "" if row_id.startswith(FIT_PREFIXES) else "  (held out)"
        print(f"  {row_id:<10} {err:+.1%}{held}")


if __name__ == "__main__":
    main()
