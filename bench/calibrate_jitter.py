"""Fit a stack's mean per-rank stall (StackProfile.rank_jitter_mean_s) on FIT rows only.

The physics (flopwatt.perf.data_parallel): host-side work that is not coordinated across ranks (Python garbage
collection, some PyTorch operations) stalls each rank at random (MegaScale, Jiang et al. 2024 Sec. 6.3, names the
cause in the Megatron-LM code it started from and removed it in MegaScale). A replica's tensor- and pipeline-
parallel synchronisation makes it lose the sum of its R = N / dp ranks' stalls; the step waits for the slowest of
the dp replicas at the gradient reduce-scatter: tau x E[max of dp Gamma(R, 1)] for exponential stalls of mean tau.
No source measures tau, so it is fitted here, by grid search minimising the median absolute error, on the rows of
validation/train_fit.csv whose framework is the stack (for megatron-lm-2024: MEGASC-01 and MEGASC-03, MegaScale
Fig. 9, 530B on 2,240 and 4,480 GPUs). validation/train_heldout.csv and validation/strong_scaling.csv are never
read. The bench prints the fit, the residuals before and after, and the TOML line to paste into the stack's
catalog entry.

    python bench/calibrate_jitter.py [--stack megatron-lm-2024]
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

from calibrate_gemm import signed_errors  # bench/ is the script's directory, so on sys.path
from flopwatt import catalog
from flopwatt.validate import read_rows

FIT_CSV = Path(__file__).resolve().parents[1] / "validation" / "train_fit.csv"
GRID_S = np.round(np.arange(0.0, 0.02001, 0.0001), 4)


def residuals(rows: list[dict[str, str]], stack_id: str, tau_s: float | None) -> dict[str, float]:
    """Signed relative error of each row with the stack's rank_jitter_mean_s set to ``tau_s``."""
    stacks = catalog.stacks()  # the cached table the validation path reads; restored below
    original = stacks[stack_id]
    stacks[stack_id] = dataclasses.replace(original, rank_jitter_mean_s=tau_s)
    try:
        return signed_errors(rows)
    finally:
        stacks[stack_id] = original


def fit(rows: list[dict[str, str]], stack_id: str) -> tuple[float, dict[str, float]]:
    """The grid tau with the smallest median absolute error on ``rows`` (ties: the smaller tau)."""
    scored = [(float(np.median(np.abs(list(res.values())))), tau, res)
              for tau in GRID_S for res in [residuals(rows, stack_id, float(tau))]]
    _, best, res = min(scored, key=lambda s: (s[0], s[1]))
    return float(best), res


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stack", default="megatron-lm-2024")
    args = parser.parse_args()
    rows = [r for r in read_rows(FIT_CSV) if r["framework"].strip() == args.stack and r["kind"] == "train"]
    if not rows:
        raise SystemExit(f"no train row of {FIT_CSV.name} has framework {args.stack}")
    before = residuals(rows, args.stack, None)
    tau, after = fit(rows, args.stack)
    print(f"fit set: {FIT_CSV.name}, {len(rows)} rows of framework {args.stack}; fitted rank_jitter_mean_s = {tau}")
    print(f"{'id':>10} {'GPUs':>6} {'no jitter':>10} {'fitted':>8}")
    for row in rows:
        if row["id"] in after:
            print(f"{row['id']:>10} {row['n_devices']:>6} {before[row['id']]:>+10.1%} {after[row['id']]:>+8.1%}")
    print(f"fit-set median |error| {np.median(np.abs(list(before.values()))):.1%} -> "
          f"{np.median(np.abs(list(after.values()))):.1%}")
    print(f"\nrank_jitter_mean_s = {tau}")


if __name__ == "__main__":
    main()
