"""The one vocabulary of infeasibility, shared by training and serving plans.

Training reason codes come from :data:`flopwatt.perf.feasibility.REASONS`, serving codes from
:data:`flopwatt.perf.serving.REASONS`; each name used there has its explanation here (a test checks
that none is missing), and results report reasons by name.
"""

from __future__ import annotations

import numpy as np

EXPLANATIONS = {
    "ok": "feasible",
    "devices": "the plan's parallel layout does not match the device count",
    "stack_parallelism": "this stack has no tensor or no pipeline parallelism",
    "heads_tp": "attention (or KV) heads not divisible by tp",
    "layers_pp": "layers cannot be split into pp x vpp stages as this stack requires",
    "batch": "global batch not divisible by dp x micro-batch as this stack requires",
    "vpp": "interleaving needs pp > 1 and a stack that has it",
    "sequence_parallel": "this stack has no sequence parallelism",
    "recompute": "this stack has no selective recompute",
    "zero_pp": "ZeRO-2/3 cannot be combined with pipeline parallelism",
    "ep": "expert parallelism needs experts, and ep dividing both experts and dp",
    "cp": "sequence length not divisible by 2 x cp",
    "oom": "does not fit in device memory",
    "slo": "misses the latency targets (TTFT/TPOT at the SLO percentile)",
    "market": "the accelerator cannot be sold in the buyer's market (catalog/markets.toml rule)",
    "cooling": "the system's racks draw more than this cooling type carries (catalog facility_costs.toml "
               "[air_rack_limit])",
}


def counts(names: tuple[str, ...], codes: np.ndarray) -> dict[str, int]:
    """How many plans carry each reason (feasible ones under 'ok'), by name."""
    tally = np.bincount(np.asarray(codes, dtype=np.int64), minlength=len(names))
    return {name: int(c) for name, c in zip(names, tally, strict=True) if c}


def describe(reason_counts: dict[str, int]) -> str:
    """'does not fit in device memory (12); ...' for messages, most frequent first."""
    parts = [f"{EXPLANATIONS.get(k, k)} ({v})" for k, v in sorted(reason_counts.items(), key=lambda kv: -kv[1])
             if k != "ok"]
    return "; ".join(parts)
