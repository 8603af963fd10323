"""The fields of a training or serving estimate, defined once, without pydantic.

:class:`Outcome` is what :mod:`flopwatt.api.training` computes; :class:`flopwatt.api.results.Result`, the
validated model every API call returns, is built from these fields (their types, defaults and descriptions),
so the result's schema has one definition. The CLI prints an Outcome directly (no pydantic import):
:meth:`Outcome.plain` checks that every value already has its declared type and is finite JSON, where
validating and dumping it as a Result is the identity (tuples become lists); otherwise it says no and the
caller goes through Result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from flopwatt.perf import reasons


def _doc(text: str) -> dict[str, str]:
    return {"description": text}


@dataclass(kw_only=True)
class Outcome:
    """A training or serving estimate (the best plan of those evaluated)."""

    kind: Literal["train", "serve"]
    inputs: dict[str, Any] = field(metadata=_doc("resolved inputs: model, system, devices, precision, lengths, "
                                                 "place"))
    feasible: bool
    reason: str | None = field(default=None, metadata=_doc("why no plan is feasible (shared vocabulary), if none "
                                                           "is"))
    message: str | None = field(default=None, metadata=_doc("the reason in words, with the counts"))
    plans_evaluated: int
    plans_feasible: int
    infeasible: dict[str, int] = field(default_factory=dict, metadata=_doc("plans per infeasibility reason"))
    plan: dict[str, Any] = field(default_factory=dict)
    chosen: list[str] = field(default_factory=list, metadata=_doc("plan knobs left open and chosen"))
    time: dict[str, float] = field(default_factory=dict, metadata=_doc("step or iteration time breakdown, s"))
    memory: dict[str, float] = field(default_factory=dict, metadata=_doc("memory per device, B"))
    metrics: dict[str, Any] = field(default_factory=dict)
    footprint: dict[str, float] = field(default_factory=dict, metadata=_doc("power W, energy J, money $, tCO2e, "
                                                                            "reliability"))
    unknown: list[str] = field(default_factory=list, metadata=_doc("outputs left unknown, and why"))
    assumptions: list[str] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict, metadata=_doc("fabric design, colocated optimum, ..."))

    def values(self) -> dict[str, Any]:
        """Every field by name (the keyword arguments of a Result)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def plain(self) -> dict[str, Any] | None:
        """``Result(**self.values()).payload()`` where that is the identity on the values (module doc), else None."""
        out = {}
        for name, value in self.values().items():
            check = _CHECKS[name]
            if not check(value):
                return None
            out[name] = _json(value)
        return out


def _is_float(x: Any) -> bool:
    return type(x) is float and math.isfinite(x)


def _is_int(x: Any) -> bool:
    return type(x) is int


def _is_str(x: Any) -> bool:
    return type(x) is str


def _any(x: Any) -> bool:
    """A value pydantic's JSON mode dumps unchanged (up to tuples as lists): plain JSON of finite numbers."""
    if x is None or type(x) in (str, int, bool) or _is_float(x):
        return True
    if type(x) in (list, tuple):
        return all(_any(v) for v in x)
    if type(x) is dict:
        return all(type(k) is str and _any(v) for k, v in x.items())
    return False


def _mapping(value_ok):
    return lambda x: type(x) is dict and all(type(k) is str and value_ok(v) for k, v in x.items())


def _listing(x: Any) -> bool:
    return type(x) is list and all(_is_str(v) for v in x)


_CHECKS = {
    "kind": lambda x: x in ("train", "serve") and _is_str(x),
    "inputs": _mapping(_any), "feasible": lambda x: type(x) is bool,
    "reason": lambda x: x is None or _is_str(x), "message": lambda x: x is None or _is_str(x),
    "plans_evaluated": _is_int, "plans_feasible": _is_int, "infeasible": _mapping(_is_int),
    "plan": _mapping(_any), "chosen": _listing, "time": _mapping(_is_float), "memory": _mapping(_is_float),
    "metrics": _mapping(_any), "footprint": _mapping(_is_float), "unknown": _listing, "assumptions": _listing,
    "advice": _listing, "details": _mapping(_any),
}
"""Per field: the values whose validation and JSON dump as the field's declared type change nothing."""


def _json(value: Any) -> Any:
    """A copy with tuples as lists (what the JSON dump does to values :data:`_CHECKS` accepts)."""
    if type(value) in (list, tuple):
        return [_json(v) for v in value]
    if type(value) is dict:
        return {k: _json(v) for k, v in value.items()}
    return value


def infeasible(kind: str, inputs: dict, counts: dict[str, int], evaluated: int, notes: list[str],
               message: str | None = None) -> Outcome:
    """A result with no feasible plan: the most frequent reason, and the counts."""
    bad = {k: v for k, v in counts.items() if k != "ok"}
    reason = max(bad, key=bad.get) if bad else "devices"
    text = message or f"no feasible plan of {evaluated:,}: {reasons.describe(bad) or reasons.EXPLANATIONS[reason]}"
    return Outcome(kind=kind, inputs=inputs, feasible=False, reason=reason, message=text, plans_evaluated=evaluated,
                   plans_feasible=0, infeasible=bad, assumptions=notes)
