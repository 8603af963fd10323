"""The shape bounds (:class:`flopwatt.perf.bounds.ShapeBounds`) of many stacks' spaces on one request at once.

The advice bounds every other stack's space (api/training.py); each is :func:`flopwatt.perf.bounds.shape_bounds`
of the stack's :func:`flopwatt.perf.space.shape_superset`. Here they share their work:

- one grid holds every shape any of the stacks allows (the union of their knob options under the stack-free
  layout rules, ``space.layout_rules``: :mod:`flopwatt.perf.shape_union`); a stack's superset is the rows its own
  options and layer-split rules (``space.stack_layout_rules``) keep: the same set of shapes (a least bound does not
  depend on their order);
- the layer times of a shard (tp, cp, micro-batch, ep, sequence parallel: ``bounds.shard_times``) are computed once for
  every stack the computation cannot tell apart. It reads the stack through :class:`_Reads`, which records each
  attribute read; a stack with the same value of each of them gets the stored numbers (a pure function that
  reads the same inputs computes the same values), another computes its own. The stacks' distinct inputs are
  computed in one call over stacked rows (``StackGrid._stacked_work``): the attributes ``compute.layer_times``
  takes per row (perf/stacked_rows.py) may differ between the rows, nothing else may.

Same numbers as :func:`flopwatt.perf.bounds.shape_bounds` per stack (tests/test_shape_grid.py). Looser and cheaper,
:meth:`StackGrid.grid_bounds` bounds every shape of the grid with a stack's terms (one computation per group of
stacks that read alike; :mod:`flopwatt.perf.loose_bounds`): the advice settles a stack by it where it is already
above the cutoff.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from flopwatt import catalog
from flopwatt.perf import bounds, space
from flopwatt.perf.bounds import ShapeBounds
from flopwatt.perf.loose_bounds import LooseBounds
from flopwatt.perf.loose_bounds import loose_least as loose_least  # imported from here too
from flopwatt.perf.shape_union import AXES, option_member, union_grid
from flopwatt.perf.space import PlanRequest
from flopwatt.perf.stacked_rows import PER_ROW_STACK, NotPerRow, StackedContext
from flopwatt.perf.stacked_rows import same as _same
from flopwatt.perf.training import search_context
from flopwatt.specs import StackProfile, System, TrainingWorkload


class _Reads:
    """Stands for a stack and records every attribute read from it (name -> value)."""

    __slots__ = ("_stack", "seen")

    def __init__(self, stack: StackProfile) -> None:
        self._stack = stack
        self.seen: dict[str, object] = {}

    def __getattr__(self, name: str) -> object:
        value = getattr(self._stack, name)
        self.seen[name] = value
        return value


class _Fields:
    """Stands for a search context and records the names of the fields read from it."""

    __slots__ = ("_ctx", "names")

    def __init__(self, ctx: object) -> None:
        self._ctx = ctx
        self.names: set[str] = set()

    def __getattr__(self, name: str) -> object:
        self.names.add(name)
        return getattr(self._ctx, name)


CONTEXT_ONLY_READS = {"bf16_grad_reduce_fp32": "grad_reduce_bytes"}
"""Stack attribute -> the one field of ``training.search_context`` it sets (tests/test_shape_grid.py checks it):
where the layer times read no such field, stacks that differ only in the attribute share them."""


_TIMES = bounds.LAYER_WORK_TIMES
"""The layer times (``compute.LayerTimes``) a shape's bound reads."""


@dataclass(frozen=True)
class _ShardWork:
    """``bounds.shard_times`` of the grid's shards, the same for every stack that agrees with ``seen``."""

    times: dict[str, np.ndarray]
    """The layer times of ``_TIMES`` and the output layer's forward + backward time ("logits"), per shard."""
    seen: dict[str, object]
    """Attribute -> value of every read of the stack that computed ``times``."""

    def agrees(self, stack: StackProfile) -> bool:
        return _agrees(stack, self.seen)


@dataclass(frozen=True)
class _Whole:
    """The bounds of every shape of the grid with the terms of the stacks that agree with ``seen`` (and ``work``)."""

    work: _ShardWork
    seen: dict[str, object]
    terms: ShapeBounds


class StackGrid:
    """The shared grid of ``stacks`` on one request (module doc), and from it each stack's shape bounds."""

    def __init__(self, workload: TrainingWorkload, system: System, stacks: list[StackProfile],
                 request: PlanRequest) -> None:
        self.workload, self.system, self.request = workload, system, request
        base = space.superset_request(request)
        known: list[tuple[dict[str, object], tuple[np.ndarray, ...]]] = []  # shape_axes by what it read
        self._axes = {}
        for stack in stacks:
            axes = next((axes for seen, axes in known if _agrees(stack, seen)), None)
            if axes is None:
                reads = _Reads(stack)
                axes = space.shape_axes(base, workload.model, reads, system)
                known.append((reads.seen, axes))
            self._axes[stack.id] = axes
        distinct = [axes for _, axes in known]
        options = tuple(np.unique(np.concatenate([own[k] for own in distinct])) for k in range(len(AXES)))
        self.grid = union_grid(request, options)
        self._stacks = list(stacks)
        """Stacks whose shard work is computed together (:meth:`_stacked_work`) on the first call that needs one."""
        self._penalty = bounds._straggler_penalty(catalog.efficiency(), system, request.devices)
        self._work: list[_ShardWork] = []
        self._whole: list[_Whole] = []
        self._same_weights: tuple[np.ndarray, ...] | None = None
        self._work_logits: dict[int, np.ndarray] = {}
        """id of a _ShardWork (kept in self._work) -> its output-layer time of every shape."""
        self._work_layer: dict[int, np.ndarray] = {}
        """id of a _ShardWork (kept in self._work) -> the layer work of every shape, where it reads no stack."""
        self._members: dict[tuple, np.ndarray] = {}
        """(knob, a stack's options as bytes) -> which of the grid's options they hold."""
        self._options_memo: dict[int, tuple] = {}
        """id of a stack's options (self._axes) -> (them, layouts and shapes they allow, [(layer-split reads,
        rows)])."""
        self._split_memo: list[tuple[dict[str, object], np.ndarray]] = []
        """(reads, the layouts ``space.stack_layout_rules`` allows) per distinct layer-split reads."""

    def _shard_work(self, stack: StackProfile) -> _ShardWork:
        """``bounds.shard_times`` of every shard of the grid for ``stack``: a memo entry it agrees with, or a new
        one (computed in one call, keyed by what that call read of the stack)."""
        if self._stacks:
            self._stacked_work()
        entry = next((e for e in self._work if e.agrees(stack)), None)
        if entry is None:
            reads = _Reads(stack)
            ctx = search_context(self.workload, self.system, reads, self.request.devices, catalog.efficiency())
            made, reads.seen = reads.seen, {}
            fields = _Fields(ctx)
            lt, logits = bounds.shard_times(fields, self.grid.shards)
            unread = {name for name, field in CONTEXT_ONLY_READS.items() if field not in fields.names}
            seen = {**{k: v for k, v in made.items() if k not in unread}, **reads.seen}
            entry = _ShardWork(times={**{name: getattr(lt, name) for name in _TIMES}, "logits": logits}, seen=seen)
            self._work.append(entry)
        return entry

    def _stacked_work(self) -> None:
        """The shard work of every stack of the grid in one ``bounds.shard_times`` call: each stack's rows of the
        shards stacked (the layer arithmetic is row by row), its attributes and rates per row where they differ
        (:class:`StackedContext`). Where the contexts differ in what cannot be per row, nothing: each group
        computes its own (:meth:`_shard_work`). Entries that read alike are kept once."""
        stacks, self._stacks = self._stacks, []
        contexts: list[tuple[dict[str, object], object]] = []  # (search_context's reads, the context)
        blocks = []
        for stack in stacks:
            if any(e.agrees(stack) for e in self._work):
                continue
            known = next((c for c in contexts if _agrees(stack, c[0])), None)
            if known is None:
                reads = _Reads(stack)
                ctx = search_context(self.workload, self.system, reads, self.request.devices, catalog.efficiency())
                known = (reads.seen, ctx)
                contexts.append(known)
            # one block per context and per-row values: a stack read alike in every other attribute agrees with
            # its block's entry, one read otherwise computes its own (every block reads the others alike)
            if not any(ctx is known[1] and all(_same(getattr(stack, a), getattr(other, a)) for a in PER_ROW_STACK)
                       for other, _, ctx in blocks):
                blocks.append((stack, *known))
        if len(blocks) < 2:
            return
        n = len(self.grid.shards)
        stacked = StackedContext([ctx for _, _, ctx in blocks], [stack for stack, _, _ in blocks], n)
        try:
            lt, logits = bounds.shard_times(stacked, self.grid.shards.take(np.tile(np.arange(n), len(blocks))))
        except NotPerRow:
            return
        unread = {name for name, field in CONTEXT_ONLY_READS.items() if field not in stacked.fields}
        for k, (stack, made, _) in enumerate(blocks):
            seen = {**{a: v for a, v in made.items() if a not in unread},
                    **{a: getattr(stack, a) for a in stacked.stack_reads}}
            if any(_agrees(stack, e.seen) for e in self._work):
                continue
            rows = slice(k * n, (k + 1) * n)
            times = {**{name: getattr(lt, name)[rows] for name in _TIMES}, "logits": logits[rows]}
            self._work.append(_ShardWork(times=times, seen=seen))

    def _per_layer(self, stack: StackProfile, work: _ShardWork, rows: np.ndarray | slice) -> np.ndarray:
        """``bounds.layer_work`` of the shapes ``rows``: per shard (an element-wise function of the shard's times
        and weights), then spread to the shapes."""
        per_shard = bounds.layer_work(SimpleNamespace(**{name: work.times[name] for name in _TIMES}),
                                      self._weights(stack))
        return per_shard[self.grid.shape_shard[rows]]

    def _logits(self, work: _ShardWork) -> np.ndarray:
        """The output layer's time of every shape (from ``work``), spread once per shard work."""
        if id(work) not in self._work_logits:
            self._work_logits[id(work)] = work.times["logits"][self.grid.shape_shard]
        return self._work_logits[id(work)]

    def _bounds(self, stack: StackProfile, work: _ShardWork, rows: np.ndarray | None,
                per_layer: np.ndarray | None = None) -> ShapeBounds:
        """The ShapeBounds of the grid's shapes ``rows`` (None: every shape, the grid's own arrays) with ``stack``'s
        terms (``bounds.shape_bounds``'s arithmetic, each shard's layer times from ``work``; ``per_layer``: its
        layer work, if known)."""
        grid = self.grid
        every = slice(None) if rows is None else rows
        if per_layer is None:
            per_layer = self._per_layer(stack, work, every)
        ctx = SimpleNamespace(model=self.workload.model, stack=stack)  # all that the stage and bubble terms read
        pick = (lambda a: a) if rows is None else (lambda a: a[rows])
        logits = self._logits(work) if rows is None else work.times["logits"][grid.shape_shard[rows]]
        stage, bubble = bounds.stage_bounds(ctx, pick(grid.pp), pick(grid.vpp), per_layer, logits)
        return ShapeBounds(replica=pick(grid.replica), micro_batch=pick(grid.micro_batch), bubble=bubble, stage=stage,
                           straggler_penalty=self._penalty, open_micro_batch=self.request.micro_batch is None)

    def _rows(self, stack: StackProfile) -> np.ndarray:
        """Indices of the grid's shapes that are ``stack``'s superset (``space.shape_superset``): its options on
        every knob and its layer split (``space.stack_layout_rules``); shared by the stacks of the same options and
        layer-split reads, each part computed once per distinct options or reads."""
        axes = self._axes[stack.id]
        if id(axes) not in self._options_memo:  # per shape_axes group (StackGrid.__init__)
            grid = self.grid
            member = [self._members.setdefault((k, own.dtype.str, own.tobytes()), None) for k, own in enumerate(axes)]
            for k, own in enumerate(axes):
                if member[k] is None:
                    member[k] = self._members[(k, own.dtype.str, own.tobytes())] = option_member(grid.options[k], own)
            i_tp, i_pp, i_cp, i_vpp, i_ep = grid.layout
            layout_ok = member[0][i_tp] & member[1][i_pp] & member[2][i_cp] & member[4][i_vpp] & member[6][i_ep]
            self._options_memo[id(axes)] = (axes, layout_ok, member[3][grid.shape_mb] & member[5][grid.shape_sp], [])
        _, layout_ok, shape_ok, known = self._options_memo[id(axes)]
        for seen, rows in known:
            if _agrees(stack, seen):
                return rows
        split = next((ok for seen, ok in self._split_memo if _agrees(stack, seen)), None)
        if split is None:
            reads = _Reads(stack)
            _, pp, _, _, vpp, _, _ = self.grid.options
            i_pp, i_vpp = self.grid.layout[1], self.grid.layout[3]
            split = space.stack_layout_rules(self.workload.model, reads, pp[i_pp], vpp[i_vpp])
            self._split_memo.append((reads.seen, split))
        seen_split = next(seen for seen, ok in self._split_memo if ok is split)
        rows = np.flatnonzero((layout_ok & split)[self.grid.shape_layout] & shape_ok)
        known.append((seen_split, rows))
        return rows

    def _weights(self, stack: StackProfile) -> tuple[np.ndarray, np.ndarray]:
        """The shards' ``Plans.recompute_weights``: without reading the stack where both answers agree (a shape
        recomputes nothing)."""
        if self._same_weights is None:
            with_selective, without = (self.grid.shards.recompute_weights(flag) for flag in (True, False))
            same = all(np.array_equal(np.broadcast_to(a, np.shape(b)), b) and np.shape(a) == np.shape(b)
                       for a, b in zip(with_selective, without, strict=True))
            self._same_weights = with_selective if same else ()
        if self._same_weights:
            return self._same_weights
        return self.grid.shards.recompute_weights(stack.selective_recompute)

    def shape_bounds(self, stack: StackProfile) -> ShapeBounds:
        """``bounds.shape_bounds`` of ``stack``'s ``space.shape_superset`` (one of the grid's stacks)."""
        return self._bounds(stack, self._shard_work(stack), self._rows(stack))

    def grid_bounds(self, stack: StackProfile) -> LooseBounds:
        """The bounds of every shape of the grid with ``stack``'s terms (:class:`LooseBounds`); the terms are
        computed once per group of stacks whose terms read the same values."""
        work = self._shard_work(stack)
        whole = next((w for w in self._whole if w.work is work and _agrees(stack, w.seen)), None)
        if whole is None:
            reads = _Reads(stack)
            if self._weights(reads) is self._same_weights:  # the layer work reads nothing of the stack: shared
                per_layer = self._work_layer.get(id(work))
                if per_layer is None:
                    per_layer = self._work_layer[id(work)] = self._per_layer(reads, work, slice(None))
            else:
                per_layer = None
            terms = self._bounds(reads, work, None, per_layer)
            whole = _Whole(work=work, seen=reads.seen, terms=terms)
            self._whole.append(whole)
        return LooseBounds(terms=whole.terms, rows=self._rows(stack))


def _agrees(stack: StackProfile, seen: dict[str, object]) -> bool:
    """Whether ``stack`` has each value of ``seen`` (``_same``; the common case, the same object, checked inline)."""
    for name, value in seen.items():
        mine = getattr(stack, name)
        if mine is not value and not _same(mine, value):
            return False
    return True


def stacks_shape_bounds(workload: TrainingWorkload, system: System, stacks: list[StackProfile],
                        request: PlanRequest) -> dict[str, ShapeBounds]:
    """Stack id -> ``bounds.shape_bounds`` of its ``space.shape_superset`` on ``request``, for each of ``stacks``."""
    if not stacks:
        return {}
    grid = StackGrid(workload, system, stacks, request)
    return {stack.id: grid.shape_bounds(stack) for stack in stacks}
