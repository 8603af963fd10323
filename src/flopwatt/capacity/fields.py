"""Field checks of the capacity config: each bad value is one InputError naming its field."""

from __future__ import annotations

import math
from typing import Any

from flopwatt.errors import InputError, unknown_id
from flopwatt.specs._check import required as need
from flopwatt.specs._check import table_keys as keys

__all__ = ["ids", "keys", "need", "number", "optional", "precision_of", "round_trips", "trajectory", "year"]


def number(where: str, value: Any, *, minimum: float = 0.0, strict: bool = True, integer: bool = False,
           maximum: float | None = None) -> Any:
    """``value`` if it is a finite number (an integer when asked) above ``minimum`` (and <= ``maximum``)."""
    ok = isinstance(value, int if integer else (int, float)) and not isinstance(value, bool)
    ok = ok and math.isfinite(value) and (value > minimum if strict else value >= minimum)
    ok = ok and (maximum is None or value <= maximum)
    if not ok:
        kind = "an integer" if integer else "a number"
        upper = f" and <= {maximum:g}" if maximum is not None else ""
        raise InputError(where, f"{kind} {'>' if strict else '>='} {minimum:g}{upper}", value)
    return value


def optional(where: str, table: dict[str, Any], key: str, **kw: Any) -> Any:
    return number(f"{where}.{key}", table[key], **kw) if key in table else None


def year(where: str, value: Any) -> int:
    return number(where, value, minimum=1900, integer=True, maximum=2200)


def ids(where: str, value: Any, known: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise InputError(where, "a non-empty list of ids", value)
    for item in value:
        if item not in known:
            raise unknown_id(where, str(item), known)
    return tuple(value)


def trajectory(where: str, value: Any, **kw: Any) -> tuple[tuple[int, float], ...]:
    """{ "2026" = x, "2030" = y } -> ((2026, x), (2030, y)); keys are years."""
    if not isinstance(value, dict) or not value:
        raise InputError(where, "a table { YEAR = value, ... } with at least one year", value)
    out = []
    for key, v in value.items():
        if not (isinstance(key, str) and key.isdigit()):
            raise InputError(f"{where}.{key}", "a year such as 2027 as the key")
        out.append((year(f"{where}.{key}", int(key)), float(number(f"{where}.{key}", v, **kw))))
    return tuple(sorted(out))


def round_trips(where: str, value: Any) -> dict[str, float]:
    if not isinstance(value, dict):
        raise InputError(where, "a table { region = seconds }", value)
    return {str(k): float(number(f"{where}.{k}", v, strict=False)) for k, v in value.items()}


def precision_of(where: str, value: Any, allowed: tuple[str, ...]) -> Any:
    if value is not None and value not in allowed:
        raise InputError(where, f"one of {', '.join(allowed)}", value)
    return value
