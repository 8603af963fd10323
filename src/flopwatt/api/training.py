"""``flopwatt.api.train``: one training estimate from a typed request.

Resolve the request (:mod:`flopwatt.api.resolve`), evaluate every plan consistent with what it fixes in
one vectorised call (:func:`flopwatt.estimate.estimate_best`: the search is cached per plan space, the
chosen plan re-evaluated with the request's tokens), cost the fastest feasible plan
(:func:`flopwatt.footprint.run_footprint`), and say what limited it (:func:`_advice`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from flopwatt import catalog
from flopwatt import estimate as search
from flopwatt.api import outcome
from flopwatt.api.defaults import DEFAULTS
from flopwatt.api.outcome import Outcome
from flopwatt.api.resolve import Assumptions, resolve_model, resolve_setting, resolve_stack, resolve_system
from flopwatt.errors import InputError
from flopwatt.estimate import BestEstimate, choose_below, estimate_best, stack_bounds
from flopwatt.fabric.design import design, rack_layout
from flopwatt.fabric.design import summary as fabric_summary
from flopwatt.fabric.network import FabricSpec
from flopwatt.footprint import fabric_money_note, run_footprint, unknown_parts
from flopwatt.perf.feasibility import COOLING_REASON, cooling_refusal
from flopwatt.perf.reasons import EXPLANATIONS
from flopwatt.perf.space import PlanRequest
from flopwatt.specs import TrainingWorkload

if TYPE_CHECKING:
    from flopwatt.api.requests import TrainRequest
    from flopwatt.api.results import Result

ADVICE_SPEEDUP = 1.2
"""Another stack is named in the advice when its fastest plan is at least this much faster (a reporting rule)."""
ADVICE_CUTOFF_SLACK = 1e-12
"""Relative widening of mine / ADVICE_SPEEDUP where the advice stops searching a stack: x * 1.2 <= mine may hold
for an x a rounding step above mine / 1.2; searching a little further never changes the answer."""


def _check_moe_knobs(model, ep: int | None) -> None:
    if ep is None or ep == 1:
        return
    if model.moe is None:
        raise InputError("ep", f"1 ({model.id} is dense: expert parallelism needs experts)", ep)
    if model.moe.experts % ep:
        raise InputError("ep", f"a divisor of the {model.moe.experts} experts of {model.id}", ep)


def _plan_request(req: TrainRequest) -> PlanRequest:
    return PlanRequest(devices=req.devices, global_batch=req.global_batch, tp=req.tp, pp=req.pp, dp=req.dp,
                       cp=req.cp or 1, ep=req.ep, vpp=req.vpp, micro_batch=req.micro_batch, zero_stage=req.zero,
                       recompute=req.recompute, sequence_parallel=req.sequence_parallel)


def _fabric(req: TrainRequest, system):
    if req.fabric is None:
        return None
    spec = FabricSpec(topology=req.fabric, switch=req.switch, media=req.media, oversubscription=req.oversubscription,
                      rails=req.rails, radix=req.radix, dragonfly=req.dragonfly, torus=req.torus)
    rails = req.rails or system.devices_per_node
    return design(spec, req.devices, system.devices_per_node, layout=rack_layout(system, rails))


def train(req: TrainRequest) -> Result:
    """Estimate one training run; plans none of which is feasible come back as an infeasible result."""
    from flopwatt.api.results import from_outcome

    return from_outcome(train_outcome(req))


def train_outcome(req: TrainRequest) -> Outcome:
    """:func:`train`'s fields before validation as a Result (no pydantic): what the CLI prints. ``req`` is a
    TrainRequest or an object with its attributes and ``model_fields_set`` (the CLI's validated options)."""
    notes = Assumptions()
    model = resolve_model(req.model, notes)
    system = resolve_system(req.accelerator, req.system, DEFAULTS["train.accelerator"], notes)
    stack = resolve_stack(req.stack)
    seq = req.seq_len or model.seq_len
    if seq is None:
        raise InputError("seq_len", f"a value ({model.id} has no published context length)")
    if req.seq_len is None:
        notes.add(f"seq_len = {seq}: the published context of {model.id}")
    precision = req.precision or system.accelerator.half_precision()
    if req.precision is None:
        notes.add(f"precision = {precision}: the 16-bit matmul type of {system.accelerator.id}")
    system.accelerator.peak(precision)  # unknown precision for this device: one clear line
    notes.defaults(req, {"model": "what is trained", "devices": "cluster size", "global_batch": "sequences per step",
                         "tokens": "training tokens", "stack": "software stack"})
    workload = TrainingWorkload(model=model, seq_len=seq, tokens=req.tokens, precision=precision)
    _check_moe_knobs(model, req.ep)
    fabric = _fabric(req, system)
    estimate = estimate_best(workload, system, stack, _plan_request(req), fabric=fabric[0] if fabric else None)
    inputs = {"model": model.id, "system": system.id, "accelerator": system.accelerator.id, "devices": req.devices,
              "stack": stack.id, "precision": precision, "seq_len": seq, "tokens": req.tokens,
              "global_batch": req.global_batch, "site": req.site, "cooling": req.cooling}
    refused = cooling_refusal(system, req.cooling)
    if refused is not None:  # a facility rule shared by every plan of this system x cooling (perf/feasibility.py)
        out = outcome.infeasible("train", inputs, {COOLING_REASON: estimate.choice.evaluated},
                                 estimate.choice.evaluated, notes.items, message=refused)
        out.advice.append(refused)
        return out
    if estimate.result is None:
        out = outcome.infeasible("train", inputs, estimate.infeasible_counts(), estimate.choice.evaluated,
                                 notes.items)
        out.advice.extend(_advice(req, workload, system, stack, estimate))
        return out
    return _feasible(req, (workload, system, stack), estimate, fabric, inputs, notes)


def _feasible(req, context, estimate: BestEstimate, fabric, inputs: dict, notes: Assumptions) -> Outcome:
    workload, system, stack = context
    summary = estimate.best_summary()
    setting = resolve_setting(req, notes)
    fp = run_footprint(estimate.result, workload, system, req.devices, setting, fabric)
    footprint = {k: float(v[0]) for k, v in fp.items()}
    pue = footprint["facility/pue"]
    if req.pue_cap is not None and pue > req.pue_cap:
        raise InputError("pue_cap", f"a site/cooling meeting it: {req.cooling} at {req.site} gives PUE {pue:.2f}",
                         req.pue_cap)
    bom = fabric[1] if fabric else None
    notes.add(fabric_money_note(bom))
    notes.add("failures: catalog failure model (Llama 3 interruption rates per device-day), Daly checkpoint interval")
    details = {"fabric": fabric_summary(*fabric) if fabric else None}
    return Outcome(
        kind="train", inputs=inputs, feasible=True, plans_evaluated=estimate.choice.evaluated,
        plans_feasible=estimate.choice.feasible, infeasible=estimate.infeasible_counts(),
        plan=summary["plan"], chosen=summary["chosen"], time=summary["time"], memory=summary["memory"],
        metrics=summary["metrics"], footprint=footprint, unknown=unknown_parts(system, bom), assumptions=notes.items,
        advice=_advice(req, workload, system, stack, estimate), details=details)


def _advice(req: TrainRequest, workload, system, stack, estimate: BestEstimate) -> list[str]:
    """What limited the plan (the reasons that refused the most plans) and which other stack would be
    at least ADVICE_SPEEDUP faster with the same fixed knobs. Only stacks that train the same architecture are
    compared (a parallel attention + MLP block, MegaScale's Sec. 3.1, changes the model)."""
    out = []
    counts = {k: v for k, v in estimate.infeasible_counts().items() if k not in ("ok", "devices")}
    for reason in ("layers_pp", "batch", "heads_tp", "oom"):
        if counts.get(reason) and (reason != "oom" or estimate.result is None):
            out.append(f"{counts[reason]:,} of {estimate.choice.evaluated:,} plans refused: {EXPLANATIONS[reason]} "
                       f"({stack.id})")
    if not req.advise:
        return out
    mine = estimate.choice.step_time_s
    plan_request = _plan_request(req)
    # Only a stack whose fastest plan is within the rule (x ADVICE_SPEEDUP <= mine; the slack covers the rounding
    # of the division) and faster than the best so far can change the advice, so each search stops at that cutoff.
    # Stacks are searched in order of their spaces' least step-time bound (a likely winner first, so the cutoff
    # tightens early); equal step times go to the stack listed first in the catalog, as in catalog order.
    rule = mine / ADVICE_SPEEDUP * (1 + ADVICE_CUTOFF_SLACK)
    others = [(i, other) for i, other in enumerate(catalog.stacks().values())
              if other.id != stack.id and other.parallel_block == stack.parallel_block]  # MegaScale: not advice
    least = stack_bounds(workload, system, stack, [other for _, other in others], plan_request, cutoff=rule)
    best_alt = None
    for i, other in sorted(others, key=lambda pair: (least[pair[1].id], pair[0])):
        cutoff = rule if best_alt is None else min(rule, best_alt[1].step_time_s)
        if search.SEARCH_PRUNED and least[other.id] > cutoff:
            continue  # every plan of the stack is slower than the cutoff: what choose_below would find
        alt = choose_below(workload, system, other, plan_request, cutoff, bound=least[other.id])
        if alt is not None and np.isfinite(alt.step_time_s) and (best_alt is None or (
                alt.step_time_s, i) < (best_alt[1].step_time_s, best_alt[2])):
            best_alt = (other, alt, i)
    if best_alt and best_alt[1].step_time_s * ADVICE_SPEEDUP <= mine:
        other, alt, _ = best_alt
        plan, step, mfu = alt.plan.row(0), alt.step_time_s, alt.mfu
        shape = f"tp={plan['tp']} pp={plan['pp']} dp={plan['dp']}"
        now = f"{stack.id} has no feasible plan" if not np.isfinite(mine) else \
            f"{mine / step:.2f}x faster than {stack.id}"
        out.append(f"stack {other.id} would run {shape} at {mfu:.1%} MFU ({now}); try stack = {other.id!r}")
    return out
