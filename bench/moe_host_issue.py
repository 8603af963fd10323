"""Fit the host issue time of one MoE layer forward (``[moe_host_issue] forward_s``) on FIT rows only.

A Megatron-Core MoE layer with dropless routing copies its tokens-per-expert counts to the host before the
expert-parallel All-to-All (token_dispatcher.py ``cuda_sync_point``), so the host cannot queue work ahead across
the layer: the layer takes max(device time, host issue time) forward and max(device, b x host) backward
(perf/experts.py ``host_issue_floor``). The host time is a property of the CPU and the framework's Python/launch
path, published nowhere we read, so it is fitted here: one value of forward_s, by grid search, minimising the mean
absolute log error over the MoE training rows of the fit sets (validation/train_fit.csv and validation/visible.csv;
the held-out sets are never read) whose stack the rule covers. Rows whose layers are device-bound at every grid
value do not move the fit; the bench prints which rows it moves and the residual of each row at the fitted value.

    python bench/moe_host_issue.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from flopwatt import catalog
from flopwatt.perf import experts
from flopwatt.validate import read_rows, validate

ROOT = Path(__file__).resolve().parents[1]
FIT_CSVS = (ROOT / "validation" / "train_fit.csv", ROOT / "validation" / "visible.csv")
GRID_S = np.round(np.arange(0.0005, 0.00801, 0.00025), 5)
BACKWARD_FACTOR = 2.0


def moe_rows() -> list[dict[str, str]]:
    """MoE training rows of the fit sets run on a stack the rule covers."""
    stacks = {s.id for s in catalog.stacks().values() if s.moe_dispatch_host_sync}
    return [r for path in FIT_CSVS for r in read_rows(path)
            if r["kind"] == "train" and r["moe_experts"].strip() and r["framework"].strip() in stacks]


def log_errors(rows: list[dict[str, str]], forward_s: float) -> dict[str, float]:
    """log(predicted / measured) per row with ``forward_s`` in place of the catalog value."""
    original = experts.moe_host_issue
    experts.moe_host_issue = lambda: {"forward_s": forward_s, "backward_factor": BACKWARD_FACTOR}
    try:
        result = validate(rows, kind="train")
    finally:
        experts.moe_host_issue = original
    return {r["id"]: float(np.log(r["predicted"] / r["measured"])) for r in result["rows"]}


def main() -> None:
    rows = moe_rows()
    sweep = {h: log_errors(rows, h) for h in GRID_S}
    cost = {h: float(np.mean(np.abs(list(e.values())))) for h, e in sweep.items()}
    best = min(cost, key=cost.get)
    moved = [i for i in sweep[best] if abs(sweep[GRID_S[0]][i] - sweep[GRID_S[-1]][i]) > 1e-9]
    print(f"{len(rows)} fit rows; grid {GRID_S[0] * 1e3:.2f}-{GRID_S[-1] * 1e3:.2f} ms; rows the value moves: "
          f"{', '.join(moved) or 'none'}")
    for h in GRID_S:
        print(f"  forward_s {h * 1e3:5.2f} ms  mean |log error| {cost[h]:.4f}")
    print(f"FITTED forward_s = {best:.5f} s (mean |log error| {cost[best]:.4f}; "
          f"at the lowest grid value, {GRID_S[0] * 1e3:.2f} ms: {cost[GRID_S[0]]:.4f})")
    for i, e in sweep[best].items():
        print(f"  {i:12s} predicted/measured {np.exp(e):.3f}")


if __name__ == "__main__":
    main()
