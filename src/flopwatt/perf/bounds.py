"""Cheap, provable lower bounds of a plan's step time, and the layer counts that set its memory.

:func:`flopwatt.perf.training.evaluate_training` builds the step time as a sum of non-negative parts
(Narayanan et al. 2021 Sec. 2.2):

    step = (1 + straggler) x (m x (compute + recompute + comm) + bubble x t_mb + dp + optimizer),
    t_mb = compute + recompute + comm,   bubble = (pp - 1) / v  (DualPipe: max(pp / 2 - 1, 0))

Dropping every communication term, the data-parallel and optimizer times leaves

    step >= (1 + straggler) x (m + bubble) x (compute + recompute)    (per micro-batch, slowest stage)

and the slowest stage's compute + recompute is at least the smaller of the stage choices
``_stage_layers`` can make (which one it makes depends on communication): :func:`step_time_lower_bound`.
The layer arithmetic is the model's own (:func:`flopwatt.perf.compute.layer_times`), evaluated once per
distinct (tp, cp, micro-batch, ep, sequence-parallel) shard. A relative margin of 1e-9 covers rounding.
tests/test_search_bounds.py checks bound <= step over random requests, stacks and systems.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from flopwatt import catalog
from flopwatt.catalog.efficiency import EfficiencyCatalog
from flopwatt.fabric.network import Fabric
from flopwatt.perf import feasibility
from flopwatt.perf import flops as fl
from flopwatt.perf.compute import LayerTimes, layer_times, logits_times
from flopwatt.perf.partition import first_last_split
from flopwatt.perf.plans import Plans
from flopwatt.perf.training import TrainingResult, evaluate_training, memory_total_bytes, search_context
from flopwatt.specs import StackProfile, System, TrainingWorkload

MARGIN = 1e-9
"""Relative slack below the bound's arithmetic: rounding differs from evaluate_training's order of sums."""
PRUNE_ABOVE_PLANS = 512
"""Spaces up to this size are evaluated whole: one vectorised call costs about as much as the bounds."""
FIRST_CHUNK_PLANS = 256
"""Plans fully evaluated in the first round (in bound order); each later round doubles."""


_LAST_SPLIT: tuple = ()
"""(layers, pp, vpp, _split) of the last call: the advice's grid splits the same arrays for each stack's terms."""


def _split(layers: int, pp: np.ndarray, vpp: np.ndarray) -> dict[str, np.ndarray]:
    """``first_last_split`` per plan, computed once per (pp, vpp) pair of a small table and looked up; the same
    arrays (by identity: plans are never written) get the last answer again. Not to be modified."""
    global _LAST_SPLIT
    last = _LAST_SPLIT
    if last and last[0] == layers and last[1] is pp and last[2] is vpp:
        return last[3]
    rows, cols = int(np.max(pp, initial=1)) + 1, int(np.max(vpp, initial=1)) + 1
    grid_pp, grid_vpp = np.divmod(np.arange(rows * cols), cols)
    table = first_last_split(layers, grid_pp, grid_vpp)
    at = np.asarray(pp, dtype=np.int64) * cols + np.asarray(vpp, dtype=np.int64)
    split = {k: v[at] for k, v in table.items()}
    _LAST_SPLIT = (layers, pp, vpp, split)
    return split


def held_layer_range(ctx, plans: Plans) -> tuple[np.ndarray, np.ndarray]:
    """(fewest, most) layers the stage that sets the memory can hold (``training._held_layers``); equal except
    for the ``transformer-embedding`` split, whose choice of stage depends on the time model."""
    layers, pp = ctx.model.layers, plans.pp
    partition = ctx.stack.pipeline_partition
    if partition == "uniform":
        held = layers / pp
        return held, held
    if partition == "parameters":
        held = np.ceil(layers / pp)
        return held, held
    if partition == "first-last":
        split = _split(layers, pp, plans.vpp)
        held = np.maximum(split["first"], np.where(pp > 2, split["middle"], 0)).astype(float)
        return held, held
    units = np.ceil((layers + 2) / pp)
    return np.where(pp == 1, layers, units - 1), np.where(pp == 1, layers, units)


def shard_key(tp: np.ndarray, cp: np.ndarray, micro_batch: np.ndarray, ep: np.ndarray,
              sequence_parallel: np.ndarray) -> np.ndarray:
    """One integer per distinct shard (tp, cp, micro-batch, ep, sequence parallel): a mixed-radix number."""
    key = np.zeros(len(tp), dtype=np.int64)
    for column in (tp, cp, micro_batch, ep, sequence_parallel):
        column = np.asarray(column, dtype=np.int64)
        key = key * (int(column.max(initial=0)) + 1) + column
    return key


def _layer_times(ctx, few: Plans) -> LayerTimes:
    """``training._layer_mix`` without communication, per plan of ``few`` (row by row)."""
    seq = np.full(len(few), ctx.seq / few.cp)
    seq_kv = np.where(few.cp > 1, float(ctx.seq), seq)
    shard = fl.Shard(seq=seq, batch=few.micro_batch, tp=few.tp, ep=few.ep, seq_kv=seq_kv)
    args = (ctx.model, shard, few.sequence_parallel, ctx.stack, ctx.rates)
    lt = layer_times(*args)
    if ctx.model.moe is not None:
        moe = layer_times(*args, moe=True)
        w = ctx.model.moe_layers / ctx.model.layers
        lt = LayerTimes(**{f.name: (1 - w) * getattr(lt, f.name) + w * getattr(moe, f.name)
                           for f in dataclasses.fields(LayerTimes)})
    return lt


def _stage_work(ctx, pp: np.ndarray, vpp: np.ndarray, per_layer: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """Smallest compute + recompute per micro-batch of the stage ``training._stage_layers`` calls slowest."""
    layers = ctx.model.layers
    partition = ctx.stack.pipeline_partition
    if partition == "uniform":
        return layers / pp * per_layer + logits
    if partition == "parameters":
        return np.ceil(layers / pp) * per_layer + logits
    if partition == "first-last":
        split = _split(layers, pp, vpp)
        front = np.maximum(split["first"], np.where(pp > 2, split["middle"], 0))
        return np.minimum(split["last"] * per_layer + logits, front * per_layer + (pp == 1) * logits)
    units = np.ceil((layers + 2) / pp)
    staged = np.minimum((units - 1) * per_layer + logits, units * per_layer)
    return np.where(pp == 1, layers * per_layer + logits, staged)


def bubble_stages(ctx, pp: np.ndarray, vpp: np.ndarray) -> np.ndarray:
    """Pipeline fill and drain in micro-batch times, as ``training._bubble_stages``."""
    if ctx.stack.pipeline_schedule == "dualpipe":
        return np.maximum(pp / 2 - 1, 0)
    return (pp - 1) / vpp


def step_time_lower_bound(ctx, plans: Plans, straggler_penalty: float = 0.0) -> np.ndarray:
    """A value <= ``time/step`` of :func:`evaluate_training` for every structurally valid plan (module doc).

    ``straggler_penalty``: the catalog's slow-host penalty of the request's host count (0 without one).
    NaN (an infinite time times zero layers) becomes -inf: such a plan is never pruned.
    """
    stage, bubble = _stage_and_bubble(ctx, plans)
    return _combine(plans.micro_batches.astype(float), bubble, stage, straggler_penalty)


def _stage_and_bubble(ctx, plans: Plans) -> tuple[np.ndarray, np.ndarray]:
    """The slowest stage's least compute + recompute per micro-batch, and the bubble in micro-batch times: the
    factors of the bound that do not depend on the global batch."""
    key = shard_key(plans.tp, plans.cp, plans.micro_batch, plans.ep, plans.sequence_parallel)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    lt, logits = shard_times(ctx, plans.take(first))  # per distinct shard (each row on its own), spread back
    inverse = np.ravel(inverse)
    spread = SimpleNamespace(**{name: getattr(lt, name)[inverse] for name in LAYER_WORK_TIMES})
    per_layer = layer_work(spread, plans.recompute_weights(ctx.stack.selective_recompute))
    return _stage_work(ctx, plans.pp, plans.vpp, per_layer, logits[inverse]), bubble_stages(ctx, plans.pp, plans.vpp)


def shard_times(ctx, plans: Plans) -> tuple[LayerTimes, np.ndarray]:
    """Per plan: the layer times (no communication) and the output layer's forward + backward time."""
    seq = np.full(len(plans), ctx.seq / plans.cp)
    log_f, log_b = logits_times(ctx.model, seq, plans.micro_batch, plans.tp, ctx.rates)
    return _layer_times(ctx, plans), log_f + log_b


LAYER_WORK_TIMES = ("forward", "backward", "recompute_full", "recompute_selective")
"""The fields of ``compute.LayerTimes`` that :func:`layer_work` reads."""


def layer_work(lt: LayerTimes, weights: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """One layer's compute + recompute per micro-batch: forward, backward and the recomputed shares (``weights``:
    ``Plans.recompute_weights``)."""
    w_full, w_sel = weights
    return lt.forward + lt.backward + w_full * lt.recompute_full + w_sel * lt.recompute_selective


def stage_bounds(ctx, pp: np.ndarray, vpp: np.ndarray, per_layer: np.ndarray,
                 logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(:func:`_stage_and_bubble`) from each plan's :func:`layer_work` and output-layer time."""
    return _stage_work(ctx, pp, vpp, per_layer, logits), bubble_stages(ctx, pp, vpp)


def _combine(micro_batches: np.ndarray, bubble: np.ndarray, stage: np.ndarray, straggler_penalty: float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        bound = (1.0 + straggler_penalty) * (micro_batches + bubble) * stage * (1.0 - MARGIN)
    return np.where(np.isnan(bound), -np.inf, bound)


def space_lower_bound(workload: TrainingWorkload, system: System, stack: StackProfile, shapes: Plans,
                      devices: int) -> float:
    """A value <= the step time of every plan of a space, from its shapes (``space.enumerate_shapes``: each
    parallel layout, micro-batch and sequence-parallel choice once, no recomputation, ZeRO 0).

    :func:`step_time_lower_bound` does not read the ZeRO stage, and grows with the recomputed share of each layer
    (its per-layer work adds ``w x recompute`` terms, w >= 0, to the same forward + backward sum, and the stage
    work, micro-batch count and bubble multiply it by non-negative factors), so a plan's bound is at least that of
    its shape; the least of the shapes' bounds is at most every plan's bound, hence its step time. -inf (never
    prunes) when there is no shape or one's bound is undefined."""
    if len(shapes) == 0:
        return -np.inf
    eff = catalog.efficiency()
    ctx = search_context(workload, system, stack, devices, eff)
    return float(np.min(step_time_lower_bound(ctx, shapes, _straggler_penalty(eff, system, devices))))


@dataclass(frozen=True, slots=True)
class ShapeBounds:
    """:func:`space_lower_bound` for every global batch at once: the batch-free factors of the bounds of a
    space's shapes over all batches (``space.shape_superset``); :meth:`least` picks one batch's shapes
    (``space.batch_mask``) and multiplies its micro-batch counts in, with the same arithmetic."""

    replica: np.ndarray
    """dp x micro-batch per shape (sequences per step of one replica's micro-batch)."""
    micro_batch: np.ndarray
    bubble: np.ndarray
    stage: np.ndarray
    straggler_penalty: float
    open_micro_batch: bool

    def least(self, global_batch: int) -> float:
        """:func:`space_lower_bound` of the shapes of ``global_batch`` (-inf if it has none)."""
        from flopwatt.perf.space import batch_mask

        keep = np.flatnonzero(batch_mask(self.replica, self.micro_batch, global_batch, self.open_micro_batch))
        if len(keep) == 0:
            return -np.inf
        micro_batches = (global_batch // self.replica[keep]).astype(float)
        return float(np.min(_combine(micro_batches, self.bubble[keep], self.stage[keep], self.straggler_penalty)))


def shape_bounds(workload: TrainingWorkload, system: System, stack: StackProfile, superset: Plans, devices: int,
                 open_micro_batch: bool) -> ShapeBounds:
    """The :class:`ShapeBounds` of ``superset`` (``space.shape_superset`` of a request)."""
    eff = catalog.efficiency()
    ctx = search_context(workload, system, stack, devices, eff)
    stage, bubble = _stage_and_bubble(ctx, superset)
    return ShapeBounds(replica=superset.dp * superset.micro_batch, micro_batch=superset.micro_batch, bubble=bubble,
                       stage=stage, straggler_penalty=_straggler_penalty(eff, system, devices),
                       open_micro_batch=open_micro_batch)


@dataclass(frozen=True, slots=True)
class Pruned:
    """What :func:`pruned_search` found: the exhaustive search's winner and counts, and how much it evaluated."""

    best: int | None
    """Index of the fastest feasible plan (first of equals, as ``np.argmin``); None if none is feasible or, with a
    cutoff, none is at or below it."""
    step_time_s: float
    mfu: float | None
    counts: dict[str, int] | None
    """Plans per feasibility reason over the whole space (``feasibility.reason_counts``), exact; None if not
    asked for."""
    feasible: int | None
    evaluated: int
    """Plans the full model evaluated (the rest were settled by their bounds and memory alone)."""
    result: TrainingResult | None = None
    """The evaluation of ``best`` (one row, taken from the round that evaluated it: the model's numbers do not
    depend on the other plans of a call), or None."""


def _straggler_penalty(eff: EfficiencyCatalog, system: System, devices: int) -> float:
    if eff.straggler is None:
        return 0.0
    return float(eff.straggler.penalty(np.array([np.ceil(devices / system.devices_per_node)]))[0])


def _memory_classes(ctx, plans: Plans, hbm_bytes: float) -> tuple[np.ndarray, np.ndarray]:
    """(surely fits, surely out of memory) per plan: the memory-setting stage holds one of two layer counts
    (:func:`held_layer_range`); where both give the same verdict it is the model's, else the plan is evaluated."""
    lo, hi = held_layer_range(ctx, plans)
    oom_lo = memory_total_bytes(ctx, plans, lo) > hbm_bytes
    oom_hi = oom_lo if hi is lo else memory_total_bytes(ctx, plans, hi) > hbm_bytes
    return ~oom_lo & ~oom_hi, oom_lo & oom_hi


def _rounds(run, unsure: np.ndarray, queue: np.ndarray, bound: np.ndarray, cutoff: float) -> tuple:
    """Evaluate ``unsure`` and then ``queue`` (sorted by ``bound``) in doubling rounds while the next bound is at or
    below the best step time found and ``cutoff``: (best index, its step and MFU, unsure plans refused, evaluated,
    its evaluation as one row). The best is the first of the fastest by index, as ``np.argmin`` over the whole space
    picks it."""
    best, best_step, best_mfu, refused, evaluated, where = None, np.inf, None, 0, 0, None
    pos, size, chunk = 0, FIRST_CHUNK_PLANS, unsure
    while True:
        more = pos < len(queue) and bound[pos] <= min(best_step, cutoff)
        take = min(size, len(queue) - pos) if more else 0
        if not len(chunk) and not take:
            row = None if where is None else where[0].take(np.array([where[1]]))
            return best, best_step, best_mfu, refused, evaluated, row
        first = len(chunk)
        chunk = np.concatenate([chunk, queue[pos:pos + take]])
        pos, size = pos + take, 2 * size
        ok, step, mfu, res = run(chunk)
        refused += int(np.count_nonzero(~ok[:first]))
        evaluated += len(chunk)
        good = np.flatnonzero(ok & np.isfinite(step))
        if len(good):
            i = good[np.lexsort((chunk[good], step[good]))[0]]
            if step[i] < best_step or (step[i] == best_step and chunk[i] < best):
                best, best_step, best_mfu, where = int(chunk[i]), float(step[i]), float(mfu[i]), (res, i)
        chunk = chunk[:0]


def pruned_search(workload: TrainingWorkload, system: System, stack: StackProfile, plans: Plans, devices: int,
                  fabric: Fabric | None = None, cutoff: float = np.inf, counts: bool = True) -> Pruned:
    """The fastest feasible plan of ``plans`` and the reason counts, as evaluating all of them finds them.

    Structural reasons are exact for every plan; memory is settled per plan by :func:`_memory_classes`;
    plans that surely fit are evaluated in rounds in order of :func:`step_time_lower_bound` until the next
    bound exceeds the best step time found (or ``cutoff``: then only a plan at or below it is reported).
    Without ``counts`` neither structure nor memory is settled beforehand (every plan is queued by its bound;
    the evaluation refuses what does not fit) and the reason counts and feasible total are left out: a faster
    search for the fastest plan alone.
    Each round also evaluates the plan of the largest tp, so that a whole-batch rule of the time model
    (``training._tp_tier_time`` on a torus) sees the same batch as the exhaustive search.
    """
    eff = catalog.efficiency()
    ctx = search_context(workload, system, stack, devices, eff)
    # Without counts every plan is queued: one a structural rule refuses can cost an evaluation, never the answer
    # (the evaluation refuses it too).
    reason = feasibility.structural_reasons(workload.model, plans, stack, devices, workload.seq_len) if counts \
        else np.zeros(len(plans), dtype=np.int8)
    valid = np.flatnonzero(reason == feasibility.OK)
    valid_plans = plans if len(valid) == len(plans) else plans.take(valid)
    if counts:
        fits, oom = _memory_classes(ctx, valid_plans, system.accelerator.hbm_bytes)
    else:
        fits, oom = np.ones(len(valid), dtype=bool), np.zeros(len(valid), dtype=bool)
    fitting = valid_plans if fits.all() else valid_plans.take(np.flatnonzero(fits))
    bound = step_time_lower_bound(ctx, fitting, _straggler_penalty(eff, system, devices))
    near = np.flatnonzero(bound <= cutoff)  # a plan whose bound exceeds the cutoff is never evaluated
    order = near[np.argsort(bound[near], kind="stable")]
    queue, bound = valid[fits][order], bound[order]
    sentinel = np.flatnonzero(plans.tp == np.max(plans.tp))[:1] if len(plans) else valid  # a plan of the largest tp

    def run(index: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, TrainingResult]:
        rows = np.concatenate([index, sentinel])
        res = evaluate_training(workload, system, plans.take(rows), stack, devices, eff, fabric,
                                structural=reason[rows] if counts else None)  # the reasons counted above
        n = len(index)
        return res.reason[:n] == feasibility.OK, res.metrics["step_time_s"][:n], res.metrics["mfu"][:n], res

    best, best_step, best_mfu, unsure_oom, evaluated, row = _rounds(run, valid[~fits & ~oom], queue, bound, cutoff)
    if best_step > cutoff:
        best, best_step, best_mfu, row = None, np.inf, None, None
    if not counts:
        return Pruned(best=best, step_time_s=best_step, mfu=best_mfu, counts=None, feasible=None,
                      evaluated=evaluated, result=row)
    found = feasibility.reason_counts(reason)
    n_oom = int(np.count_nonzero(oom)) + unsure_oom
    found.pop("ok", None)
    for name, n in (("ok", len(valid) - n_oom), ("oom", n_oom)):
        if n:
            found[name] = n
    return Pruned(best=best, step_time_s=best_step, mfu=best_mfu, counts=found, feasible=len(valid) - n_oom,
                  evaluated=evaluated, result=row)
