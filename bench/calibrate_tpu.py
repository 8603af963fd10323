"""Fit the TPU matmul efficiency ceiling on the MaxText FIT rows (validation/train_fit.csv, MAXT-*) only.

No published TPU matmul-efficiency-by-size table exists in our sources (the only measurement read,
jax-ml/scaling-book@0819a7d8 profiling.md, is one large TPU v2 matmul at 95.6 of 96 ms, i.e. ~0.99 of peak,
a different generation). So the TPU GEMM tables use the same form as every other device,

    eff(F) = e_max * F / (F + t0 * e_max * peak)        (t0 = 5 us, as tools/efficiency_tables.py)

with one e_max shared by TPU v4, v5e, v5p and v6e, fitted here by grid search on the 12 MAXT rows of the fit
set (validation/SPLIT.md: the held-out MAXT rows are never read), minimising the median absolute error. The
bench prints the fitted value, the fit-set residuals per row and the TOML tables to paste into
src/flopwatt/catalog/efficiency.toml (whose source strings say they were fitted, and on what).

    python bench/calibrate_tpu.py [--write-toml]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from calibrate_gemm import T0_S, errors_with_tables  # bench/ is the script's directory, so on sys.path
from flopwatt import catalog
from flopwatt.catalog.efficiency import GemmTable
from flopwatt.validate import read_rows

FIT_CSV = Path(__file__).resolve().parents[1] / "validation" / "train_fit.csv"
PREFIX = "MAXT-"
TPUS = ("tpu-v4", "tpu-v5e", "tpu-v5p", "tpu-v6e")
SIZES = np.array([1e6, 3.16e6, 1e7, 3.16e7, 1e8, 3.16e8, 1e9, 3.16e9, 1e10, 3.16e10, 1e11, 3.16e11, 1e12,
                  3.16e12, 1e13, 3.16e13, 1e14])
GRID = np.round(np.arange(0.60, 1.00, 0.01), 2)


def tables(e_max: float) -> dict[str, GemmTable]:
    """The TPU GEMM tables for ``e_max`` (peak in FLOP/s from the catalog, bf16)."""
    out = {}
    for acc in TPUS:
        peak = catalog.get("accelerators", acc).peak("bf16")
        eff = e_max * SIZES / (SIZES + T0_S * e_max * peak)
        out[acc] = GemmTable(SIZES, np.round(eff, 4), f"fit e_max={e_max}")
    return out


def residuals(rows: list[dict[str, str]], e_max: float) -> dict[str, float]:
    """Signed relative error (predicted - published) / published of each row with TPU tables at ``e_max``."""
    return errors_with_tables(rows, tables(e_max))


def fit(rows: list[dict[str, str]]) -> tuple[float, dict[str, float]]:
    """The grid e_max with the smallest median absolute error on ``rows``, and its residuals."""
    scored = [(float(np.median(np.abs(list(res.values())))), e, res)
              for e in GRID for res in [residuals(rows, e)]]
    _, best, res = min(scored, key=lambda s: s[0])
    return float(best), res


def toml_text(e_max: float) -> str:
    lines = []
    for acc, table in tables(e_max).items():
        peak = catalog.get("accelerators", acc).peak("bf16") / 1e12
        lines += [f"[gemm.{acc}]", f"op_flops = [{', '.join(f'{x:.3g}' for x in SIZES)}]",
                  f"efficiency = [{', '.join(f'{y:.4g}' for y in table.efficiency)}]",
                  f'source = "FITTED (bench/calibrate_tpu.py): eff = e*F/(F + t0*e*peak), e = {e_max} (one value for '
                  f'TPU v4/v5e/v5p/v6e) fitted on the 12 MAXT rows of validation/train_fit.csv only (median absolute '
                  f'error), t0 = 5e-06 s, peak {peak:g} TFLOP/s bf16; no measured TPU matmul table in our sources"',
                  'retrieved = "2026-12-06"', ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write-toml", action="store_true", help="print the fitted tables as TOML")
    args = parser.parse_args()
    rows = [r for r in read_rows(FIT_CSV) if r["id"].startswith(PREFIX)]
    e_max, res = fit(rows)
    print(f"fit set: {FIT_CSV.name}, {len(rows)} {PREFIX}* rows; fitted TPU e_max = {e_max}")
    print(f"{'id':>8} {'error':>8}")
    for rid, err in res.items():
        print(f"{rid:>8} {err:>+8.1%}")
    err = np.abs(list(res.values()))
    print(f"fit-set median |error| {np.median(err):.1%}, max {err.max():.1%} (n={len(err)})")
    if args.write_toml:
        print()
        print(toml_text(e_max))


if __name__ == "__main__":
    main()
