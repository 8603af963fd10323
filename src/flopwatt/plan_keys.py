"""Cache keys of plan spaces (:mod:`flopwatt.estimate`): everything a search reads but the tokens, hashed once.

A key is a tuple of the tokenless workload, the system (as a frozen value), the stack, the request and the
catalog's efficiency tables (by identity); its parts and the tuple are :class:`Hashed` (hash computed once, the
same equality), as a dict operation on a tuple of dataclasses rehashes every field (~6 us a key).
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass, replace

import numpy as np

from flopwatt import catalog
from flopwatt.perf.space import PlanRequest
from flopwatt.specs import StackProfile, System, TrainingWorkload


class Same:
    """Compares by identity: the catalog's efficiency tables in a cache key (a new catalog, a new key)."""

    __slots__ = ("obj",)

    def __init__(self, obj: object) -> None:
        self.obj = obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Same) and other.obj is self.obj


def _frozen(obj: object) -> object:
    """A hashable value equal for equal specs (dataclasses, dicts, sequences, arrays): a cache key part."""
    if is_dataclass(obj) and not isinstance(obj, type):
        return (type(obj).__name__, *(_frozen(getattr(obj, f.name)) for f in fields(obj)))
    if isinstance(obj, dict):
        return ("dict", *sorted((k, _frozen(v)) for k, v in obj.items()))
    if isinstance(obj, list | tuple):
        return ("seq", *(_frozen(v) for v in obj))
    if isinstance(obj, np.ndarray):
        return ("array", obj.dtype.str, obj.shape, obj.tobytes())
    hash(obj)  # anything else must be hashable already
    return obj


class Hashed:
    """A frozen value with its hash computed once (a system's key is a deep tuple: hashing it costs ~10 us)."""

    __slots__ = ("hash", "value")

    def __init__(self, value: object) -> None:
        self.value = value
        self.hash = hash(value)

    def __hash__(self) -> int:
        return self.hash

    def __eq__(self, other: object) -> bool:
        return self is other or (isinstance(other, Hashed) and other.hash == self.hash and other.value == self.value)


_SYSTEM_KEYS: dict[int, tuple[System, Hashed]] = {}
"""id -> (system, its frozen value): systems are catalog objects, so their keys are computed once."""


def _by_identity(table: dict, obj, make) -> Hashed:
    """``make(obj)`` computed once per object: ``table`` maps id -> (object, key), and holding the object keeps its
    id from being reused; cleared past 256 entries."""
    known = table.get(id(obj))
    if known is not None and known[0] is obj:
        return known[1]
    if len(table) >= 256:
        table.clear()
    key = make(obj)
    table[id(obj)] = (obj, key)
    return key


def system_key(system: System) -> Hashed:
    return _by_identity(_SYSTEM_KEYS, system, lambda s: Hashed(_frozen(s)))


_STACK_KEYS: dict[int, tuple[StackProfile, Hashed]] = {}
"""id -> (stack, it hashed once): a stack's hash reads its every field (~3 us), and the advice keys ~18 stacks."""
_LAST_WORKLOAD: tuple = ()
"""(workload, its tokenless value hashed once): one request's calls share one workload object."""


def _stack_key(stack: StackProfile) -> Hashed:
    return _by_identity(_STACK_KEYS, stack, Hashed)


def _workload_key(workload: TrainingWorkload) -> Hashed:
    global _LAST_WORKLOAD
    last = _LAST_WORKLOAD
    if last and last[0] is workload:
        return last[1]
    key = Hashed(_tokenless(workload))
    _LAST_WORKLOAD = (workload, key)
    return key


def space_key(workload: TrainingWorkload, system: System, stack: StackProfile, request: PlanRequest) -> Hashed:
    """The cache key of a plan space: a tuple of everything but the tokens, hashed once (each part too)."""
    return Hashed((_workload_key(workload), system_key(system), _stack_key(stack), request,
                    Same(catalog.efficiency())))


def _tokenless(workload: TrainingWorkload) -> TrainingWorkload:
    return workload if workload.tokens is None else replace(workload, tokens=None)


def stack_keys(workload: TrainingWorkload, system: System, stacks: list[StackProfile],
                request: PlanRequest) -> list[Hashed]:
    """:func:`space_key` of each of ``stacks`` on one request, its shared parts built once."""
    shared, tail = (_workload_key(workload), system_key(system)), (request, Same(catalog.efficiency()))
    return [Hashed((*shared, _stack_key(stack), *tail)) for stack in stacks]
