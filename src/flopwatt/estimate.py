"""One training estimate: fix what the user gave, choose the rest, report the fastest feasible plan.

Choosing is not a loop: every candidate plan is evaluated in one vectorised call of
:func:`flopwatt.perf.training.evaluate_training` and the fastest feasible one wins.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from flopwatt.fabric.network import Fabric
from flopwatt.perf import feasibility
from flopwatt.perf.plans import Plans
from flopwatt.perf.space import PlanRequest, enumerate_plans
from flopwatt.perf.training import TrainingResult, evaluate_training
from flopwatt.specs import StackProfile, System, TrainingWorkload

KNOBS = ("tp", "pp", "dp", "cp", "ep", "vpp", "micro_batch", "zero_stage", "recompute", "sequence_parallel")


@dataclass(frozen=True, slots=True)
class Estimate:
    """All candidates evaluated, and the fastest feasible one (``best`` is None if none is)."""

    result: TrainingResult
    best: int | None
    chosen: tuple[str, ...]
    """Knobs the user left open and the estimate chose."""

    def best_summary(self) -> dict[str, object]:
        """Plan, breakdown and metrics of the best plan as plain values."""
        if self.best is None:
            raise ValueError("no feasible plan")
        i = self.best
        r = self.result
        return {
            "plan": r.plans.row(i),
            "chosen": list(self.chosen),
            "time": {k: float(v[i]) for k, v in r.time.items()},
            "memory": {k: float(v[i]) for k, v in r.memory.items()},
            "metrics": {k: float(v[i]) for k, v in r.metrics.items()},
        }

    def infeasible_counts(self) -> dict[str, int]:
        return feasibility.reason_counts(self.result.reason)


def _explicit_plan(request: PlanRequest) -> Plans:
    """The single plan a fully or partly specified request names, open knobs at neutral values."""
    tp, pp, cp = request.tp or 1, request.pp or 1, request.cp or 1
    dp = request.dp or max(request.devices // (tp * pp * cp), 1)
    return Plans.build(tp=tp, pp=pp, dp=dp, cp=cp, ep=request.ep or 1, vpp=request.vpp or 1,
                       micro_batch=request.micro_batch or 1,
                       global_batch=request.global_batch, zero_stage=request.zero_stage or 0,
                       recompute=request.recompute or "none",
                       sequence_parallel=bool(request.sequence_parallel))


def estimate_training(workload: TrainingWorkload, system: System, stack: StackProfile,
                      request: PlanRequest, fabric: Fabric | None = None) -> Estimate:
    """Evaluate every plan consistent with ``request``; pick the fastest feasible one."""
    plans = enumerate_plans(request, workload.model, stack, system)
    if len(plans) == 0:  # what the user fixed admits no valid plan: evaluate it to say why
        plans = _explicit_plan(request)
    result = evaluate_training(workload, system, plans, stack, request.devices, fabric=fabric)
    step = np.where(result.feasible, result.metrics["step_time_s"], np.inf)
    best = int(np.argmin(step)) if np.isfinite(step).any() else None
    chosen = tuple(k for k in KNOBS if getattr(request, k) is None)
    return Estimate(result=result, best=best, chosen=chosen)


def request_fields() -> tuple[str, ...]:
    return tuple(f.name for f in fields(PlanRequest))
