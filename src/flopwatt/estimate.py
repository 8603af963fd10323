"""One training estimate: fix what the user gave, choose the rest, report the fastest feasible plan.

Choosing is not a loop over plans: :func:`estimate_training` evaluates every candidate in one vectorised call of
:func:`flopwatt.perf.training.evaluate_training`. A space above PRUNE_ABOVE_PLANS plans is searched by
step-time lower bounds (:func:`flopwatt.perf.bounds.pruned_search`): plans in bound order, in a few vectorised
rounds, until no bound left is at or below the best step time; same plan, numbers and reason counts.

Which plan is fastest does not depend on the training tokens (step time, memory and feasibility are per
step), so :func:`choose` keeps what a space search found in a bounded LRU cache keyed by everything else
(model, sequence, precision, system, stack, request, catalog efficiency tables); :func:`estimate_best`
then evaluates the chosen plan alone with the full workload. Same numbers as :func:`estimate_training`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, fields, replace

import numpy as np

from flopwatt.fabric.network import Fabric
from flopwatt.perf import feasibility
from flopwatt.perf.bounds import PRUNE_ABOVE_PLANS, ShapeBounds, pruned_search, shape_bounds
from flopwatt.perf.plans import Plans
from flopwatt.perf.shape_grid import LooseBounds, StackGrid, loose_least
from flopwatt.perf.space import PlanRequest, enumerate_plans, shape_superset
from flopwatt.perf.training import TrainingResult, evaluate_training
from flopwatt.plan_keys import Hashed, space_key, stack_keys
from flopwatt.specs import StackProfile, System, TrainingWorkload

CHOICE_CACHE_ENTRIES = 4096
"""Plan-space searches remembered per process, in each of the two caches (choose's and choose_below's): each entry
is one plan row and a few counts, ~3 kB (tracemalloc), so at most ~13 MB each."""
SEARCH_PRUNED = True
"""Search large plan spaces by step-time bounds (perf/bounds.py; same answers); False evaluates every plan (the
reference the tests and bench/bench_api.py --exhaustive compare with)."""
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
                      request: PlanRequest, fabric: Fabric | None = None, plans: Plans | None = None) -> Estimate:
    """Evaluate every plan consistent with ``request`` (``plans``: its space, if already enumerated); pick the
    fastest feasible one."""
    if plans is None:
        plans = enumerate_plans(request, workload.model, stack, system)
    if len(plans) == 0:  # what the user fixed admits no valid plan: evaluate it to say why
        plans = _explicit_plan(request)
    result = evaluate_training(workload, system, plans, stack, request.devices, fabric=fabric)
    step = np.where(result.feasible, result.metrics["step_time_s"], np.inf)
    best = int(np.argmin(step)) if np.isfinite(step).any() else None
    chosen = tuple(k for k in KNOBS if getattr(request, k) is None)
    return Estimate(result=result, best=best, chosen=chosen)


@dataclass(frozen=True, slots=True)
class Choice:
    """What a search of one plan space found, without the tokens-dependent figures (a cache value)."""

    plan: Plans | None
    """The fastest feasible plan (one row), or None."""
    evaluated: int
    feasible: int
    counts: tuple[tuple[str, int], ...]
    """Plans per feasibility reason (``feasibility.reason_counts``), as pairs so the value stays immutable."""
    step_time_s: float
    """Step time of ``plan`` (inf if none is feasible)."""
    mfu: float | None


@dataclass(frozen=True, slots=True)
class BestEstimate:
    """The fastest feasible plan evaluated alone with the full workload, and what the search counted."""

    choice: Choice
    result: TrainingResult | None
    """One row (the plan of ``choice``); None if no plan is feasible."""
    chosen: tuple[str, ...]

    def best_summary(self) -> dict[str, object]:
        if self.result is None:
            raise ValueError("no feasible plan")
        return Estimate(result=self.result, best=0, chosen=self.chosen).best_summary()

    def infeasible_counts(self) -> dict[str, int]:
        return dict(self.choice.counts)


def _search(workload: TrainingWorkload, system: System, stack: StackProfile, request: PlanRequest,
            fabric: Fabric | None) -> tuple[Choice, TrainingResult | None]:
    """The space's Choice, by the pruned search (perf/bounds.py) where the space is large: the same plan, figures
    and reason counts as evaluating every plan (:func:`exhaustive_choice`); and the chosen plan's evaluation with
    ``workload`` (one row of a call that evaluated it; None if none is feasible)."""
    plans = enumerate_plans(request, workload.model, stack, system)
    if len(plans) <= PRUNE_ABOVE_PLANS or not SEARCH_PRUNED:
        return _exhaustive(workload, system, stack, request, fabric, plans)
    found = pruned_search(workload, system, stack, plans, request.devices, fabric=fabric)
    counts = tuple(sorted(found.counts.items()))
    if found.best is None:
        return Choice(plan=None, evaluated=len(plans), feasible=found.feasible, counts=counts, step_time_s=np.inf,
                      mfu=None), None
    return Choice(plan=plans.take(np.array([found.best])), evaluated=len(plans), feasible=found.feasible,
                  counts=counts, step_time_s=found.step_time_s, mfu=found.mfu), found.result


def exhaustive_choice(workload: TrainingWorkload, system: System, stack: StackProfile, request: PlanRequest,
                      fabric: Fabric | None = None, plans: Plans | None = None) -> Choice:
    """What :func:`estimate_training` finds (every plan evaluated), as a Choice."""
    return _exhaustive(workload, system, stack, request, fabric, plans)[0]


def _exhaustive(workload: TrainingWorkload, system: System, stack: StackProfile, request: PlanRequest,
                fabric: Fabric | None, plans: Plans | None) -> tuple[Choice, TrainingResult | None]:
    est = estimate_training(workload, system, stack, request, fabric=fabric, plans=plans)
    counts = tuple(sorted(est.infeasible_counts().items()))
    n_ok = int(est.result.feasible.sum())
    if est.best is None:
        return Choice(plan=None, evaluated=len(est.result), feasible=n_ok, counts=counts, step_time_s=np.inf,
                      mfu=None), None
    row = est.result.take(np.array([est.best]))  # a copy, not a view that keeps the space alive
    return Choice(plan=row.plans, evaluated=len(est.result),
                  feasible=n_ok, counts=counts, step_time_s=float(est.result.metrics["step_time_s"][est.best]),
                  mfu=float(est.result.metrics["mfu"][est.best])), row


_CHOICES: OrderedDict[Hashed, Choice] = OrderedDict()
_CHOICES_LOCK = threading.Lock()


def choose(workload: TrainingWorkload, system: System, stack: StackProfile, request: PlanRequest,
           fabric: Fabric | None = None) -> Choice:
    """The fastest feasible plan of ``request``'s space (cached unless a fabric is given)."""
    return _choose(workload, system, stack, request, fabric)[0]


def _choose(workload: TrainingWorkload, system: System, stack: StackProfile, request: PlanRequest,
            fabric: Fabric | None) -> tuple[Choice, TrainingResult | None]:
    """:func:`choose`, and the chosen plan's evaluation with ``workload`` where this call searched (None when the
    Choice came from the cache, which keeps no tokens-dependent figure)."""
    if fabric is not None:
        return _search(workload, system, stack, request, fabric)
    key = space_key(workload, system, stack, request)
    with _CHOICES_LOCK:
        found = _CHOICES.get(key)
        if found is not None:
            _CHOICES.move_to_end(key)
            return found, None
    choice, row = _search(workload, system, stack, request, None)
    _remember(_CHOICES, key, choice)
    return choice, row


@dataclass(frozen=True, slots=True)
class Fastest:
    """The fastest feasible plan of a space and its figures (what the advice compares across stacks)."""

    plan: Plans
    step_time_s: float
    mfu: float


_FASTEST: OrderedDict[Hashed, tuple[Fastest | None, float]] = OrderedDict()
"""Plan-space key -> (its fastest plan, or None: no feasible plan at or below the float), for choose_below."""
SHAPE_CACHE_ENTRIES = 512
"""Spaces (of every global batch) whose shape bounds are remembered: a few arrays of ~10^3 floats each."""
_SHAPES: OrderedDict[Hashed, ShapeBounds] = OrderedDict()
"""Plan-space key without the global batch -> the bounds of its shapes (bounds.ShapeBounds), for choose_below."""
_LOOSE_SHAPES: OrderedDict[Hashed, LooseBounds] = OrderedDict()
"""As _SHAPES, the looser bounds of ``shape_grid.StackGrid.grid_bounds`` (one object shared by the stacks of a
group), for stack_bounds."""
_STACK_BOUNDS: OrderedDict[tuple, dict[str, float]] = OrderedDict()
"""Plan-space key -> each other stack's least shape bound on the same request (stack_bounds)."""


def clear_choices(shapes: bool = True) -> None:
    """Forget every cached search (tests; a process that changed its catalog gets new keys anyway); with
    ``shapes`` False, keep the batch-free shape bounds (bench/bench_api.py: a new batch of a known space)."""
    with _CHOICES_LOCK:
        _CHOICES.clear()
        _FASTEST.clear()
        _STACK_BOUNDS.clear()
        if shapes:
            _SHAPES.clear()
            _LOOSE_SHAPES.clear()


def _remember(store: OrderedDict, key: tuple, value: object, entries: int = CHOICE_CACHE_ENTRIES) -> None:
    with _CHOICES_LOCK:
        store[key] = value
        store.move_to_end(key)
        while len(store) > entries:
            store.popitem(last=False)


def least_bound(workload: TrainingWorkload, system: System, stack: StackProfile, request: PlanRequest) -> float:
    """The least step-time bound of the shapes of ``request``'s space (-inf if it has none): at most every plan's
    step time (perf/bounds.py ``space_lower_bound``). The batch-free factors are kept per space of every batch."""
    key = space_key(workload, system, stack, replace(request, global_batch=1))
    with _CHOICES_LOCK:
        terms = _SHAPES.get(key)
    if terms is None:
        superset = shape_superset(request, workload.model, stack, system)
        terms = shape_bounds(workload, system, stack, superset, request.devices, request.micro_batch is None)
        _remember(_SHAPES, key, terms, SHAPE_CACHE_ENTRIES)
    return terms.least(request.global_batch)


def stack_bounds(workload: TrainingWorkload, system: System, stack: StackProfile, others: list[StackProfile],
                 request: PlanRequest, cutoff: float | None = None) -> dict[str, float]:
    """Stack id -> a value at most the step time of every plan of each of ``others`` on ``request``: its
    :func:`least_bound`, or where ``cutoff`` is given and a looser bound is already above it, that one
    (``shape_grid.StackGrid.grid_bounds``: every stack's shapes, no stack's layer-split rules; it settles the stack
    as well). Kept per the space of ``stack`` and the cutoff (the advice's search order: a hint, so a kept value
    for a stack not among ``others`` is never read wrongly)."""
    key = (space_key(workload, system, stack, request), cutoff)
    with _CHOICES_LOCK:
        found = _STACK_BOUNDS.get(key)
    if found is None or not all(other.id in found for other in others):
        found = _least_bounds(workload, system, others, request, cutoff)
        _remember(_STACK_BOUNDS, key, found)
    return found


def _least_bounds(workload: TrainingWorkload, system: System, stacks: list[StackProfile], request: PlanRequest,
                  cutoff: float | None) -> dict[str, float]:
    """:func:`stack_bounds` of ``stacks``: the ShapeBounds :func:`least_bound` keeps where kept, else from one grid
    of the stacks not kept (perf/shape_grid.py: the same numbers as one by one), kept in turn. The looser bounds
    of a batch are taken together (``shape_grid.loose_least``: one batch mask, the distinct terms stacked)."""
    keys = stack_keys(workload, system, stacks, replace(request, global_batch=1))
    with _CHOICES_LOCK:
        kept = [_SHAPES.get(key) for key in keys]
        loose = [_LOOSE_SHAPES.get(key) if cutoff is not None and kept[i] is None else None
                 for i, key in enumerate(keys)]
    grid = None

    def stack_grid() -> StackGrid:
        nonlocal grid
        grid = grid or StackGrid(workload, system, [s for s, t in zip(stacks, kept, strict=True) if t is None],
                                 request)
        return grid

    if cutoff is not None:
        for i, (stack, key) in enumerate(zip(stacks, keys, strict=True)):
            if kept[i] is None and loose[i] is None:
                loose[i] = stack_grid().grid_bounds(stack)
                _remember(_LOOSE_SHAPES, key, loose[i], SHAPE_CACHE_ENTRIES)
    looked = [i for i, b in enumerate(loose) if b is not None]
    values = dict(zip(looked, loose_least([loose[i] for i in looked], request.global_batch), strict=True))
    out = {}
    for i, (stack, key) in enumerate(zip(stacks, keys, strict=True)):
        if i in values and values[i] > cutoff:
            out[stack.id] = values[i]
            continue
        if kept[i] is None:
            kept[i] = stack_grid().shape_bounds(stack)
            _remember(_SHAPES, key, kept[i], SHAPE_CACHE_ENTRIES)
        out[stack.id] = kept[i].least(request.global_batch)
    return out


def choose_below(workload: TrainingWorkload, system: System, stack: StackProfile, request: PlanRequest,
                 cutoff: float, bound: float | None = None) -> Fastest | None:
    """The fastest feasible plan of ``request``'s space if its step time is <= ``cutoff``, else None (the same plan
    and figures as :func:`choose`). The search stops once the bounds show no plan at or below the cutoff can be
    left (perf/bounds.py); it counts no reasons, so it is cheaper than :func:`choose` on a space not searched.
    A space whose shapes' least bound (:func:`flopwatt.perf.bounds.space_lower_bound`, its batch-free factors
    kept per space of every global batch) is above the cutoff is settled before it is enumerated (``bound``: that
    least bound, where the caller has it from :func:`stack_bounds`)."""
    key = space_key(workload, system, stack, request)
    with _CHOICES_LOCK:
        full, known = _CHOICES.get(key), _FASTEST.get(key)
    if full is None and (known is None or (known[0] is None and cutoff > known[1])):
        if bound is None and SEARCH_PRUNED:
            bound = least_bound(workload, system, stack, request)
        if SEARCH_PRUNED and bound > cutoff:
            # no plan of the (non-empty) space can be at or below the cutoff: what pruned_search would find,
            # without enumerating the space or bounding each of its plans
            _remember(_FASTEST, key, (None, cutoff))
            return None
        plans = enumerate_plans(request, workload.model, stack, system)
        if len(plans) == 0 or not SEARCH_PRUNED:  # no space: the explicit plan alone (choose)
            full = choose(workload, system, stack, request)
        else:
            found = pruned_search(workload, system, stack, plans, request.devices, cutoff=cutoff, counts=False)
            known = (None if found.best is None else
                     Fastest(plans.take(np.array([found.best])), found.step_time_s, found.mfu), cutoff)
            _remember(_FASTEST, key, known)
    if full is not None:
        fastest = None if full.plan is None else Fastest(full.plan, full.step_time_s, full.mfu)
    else:
        fastest = known[0]
    return fastest if fastest is not None and fastest.step_time_s <= cutoff else None


def estimate_best(workload: TrainingWorkload, system: System, stack: StackProfile, request: PlanRequest,
                  fabric: Fabric | None = None) -> BestEstimate:
    """:func:`choose`, then the chosen plan evaluated with ``workload`` (its tokens included): the search's own
    evaluation of it where this call searched (a row of a call of many plans: the model evaluates each plan on its
    own, tests/test_estimate_reuse.py), else the plan alone."""
    choice, result = _choose(workload, system, stack, request, fabric)
    chosen = tuple(k for k in KNOBS if getattr(request, k) is None)
    if choice.plan is None:
        return BestEstimate(choice=choice, result=None, chosen=chosen)
    if result is None:
        result = evaluate_training(workload, system, choice.plan, stack, request.devices, fabric=fabric)
    return BestEstimate(choice=choice, result=result, chosen=chosen)


def request_fields() -> tuple[str, ...]:
    return tuple(f.name for f in fields(PlanRequest))
