"""Several stacks' search contexts as one, for one ``bounds.shard_times`` call over their stacked rows.

perf/shape_grid.py computes the layer times of every stack of the advice's grid in one call: each stack's copy of
the grid's shards is a block of rows, and what differs between the stacks is taken per row where the arithmetic
allows it (``compute.per_row``: ``np.where`` picks each row's value, the same arithmetic row by row): the stack
attributes ``PER_ROW_STACK`` and the rates' ``PER_ROW_RATES``. Any other difference raises :class:`NotPerRow`
(the caller then computes each stack on its own).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from flopwatt.specs import StackProfile


def same(a: object, b: object) -> bool:
    """Whether two values are the same object, or equal values of one type (a value without a plain truth, an
    array, never is)."""
    try:
        return a is b or (type(a) is type(b) and bool(a == b))
    except (TypeError, ValueError):  # a value without a plain truth (an array): never shared
        return False


class NotPerRow(Exception):
    """The stacked contexts differ in a value that cannot be taken per row."""


PER_ROW_STACK = ("flash_attention", "fused_elementwise", "selective_saves")
"""Stack attributes ``compute.layer_times`` takes per row (``compute.per_row``)."""
PER_ROW_RATES = ("attention_core_scale",)
"""``compute.DeviceRates`` fields its arithmetic takes per row (a factor in ``gemm_time``)."""


def _per_row(values: list[object], rows: int, may_differ: bool) -> object:
    """One value of each block: itself where all agree (``same``), else, where ``may_differ``, per row (a bool,
    number or string array of ``rows`` rows per block); anything else cannot be per row."""
    if all(same(v, values[0]) for v in values[1:]):
        return values[0]
    if not may_differ or len({type(v) for v in values}) > 1 or not isinstance(values[0], (bool, int, float, str)):
        raise NotPerRow
    return np.repeat(np.array(values), rows)


class StackedStack:
    """Stands for the blocks' stacks: each attribute read once, per row where they differ; the names read kept."""

    def __init__(self, stacks: list[StackProfile], rows: int) -> None:
        self._stacks, self._rows, self.names = stacks, rows, set()

    def __getattr__(self, name: str) -> object:
        self.names.add(name)
        return _per_row([getattr(s, name) for s in self._stacks], self._rows, name in PER_ROW_STACK)


class StackedContext:
    """Stands for the blocks' search contexts (``training.search_context``), for one ``bounds.shard_times`` call
    over the blocks' stacked rows: ``stack`` a :class:`StackedStack`, ``rates`` one ``DeviceRates`` with each
    field per row where they differ, every other field one value all agree on (else :class:`NotPerRow`)."""

    def __init__(self, contexts: list[object], stacks: list[StackProfile], rows: int) -> None:
        self._contexts, self._rows = contexts, rows
        self._stack = StackedStack(stacks, rows)
        self._rates = None
        self.fields: set[str] = set()

    @property
    def stack_reads(self) -> set[str]:
        return self._stack.names

    def __getattr__(self, name: str) -> object:
        self.fields.add(name)
        if name == "stack":
            return self._stack
        values = [getattr(c, name) for c in self._contexts]
        if name == "rates":
            if self._rates is not None:
                return self._rates
            first = values[0]
            per_row = {f.name: _per_row([getattr(r, f.name) for r in values], self._rows, f.name in PER_ROW_RATES)
                       for f in dataclasses.fields(first)}
            self._rates = dataclasses.replace(first, **per_row)
            return self._rates
        if not all(same(v, values[0]) for v in values[1:]):
            raise NotPerRow
        return values[0]
