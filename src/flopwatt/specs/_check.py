"""Small checks shared by the spec dataclasses' ``__post_init__``."""

from __future__ import annotations

import math
from typing import Any

from flopwatt.errors import InputError


def positive(owner: str, name: str, value: float | None, *, allow_none: bool = False) -> None:
    """Raise InputError unless ``value`` is a finite number > 0 (or None when allowed)."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"{owner}.{name}", "a finite positive number", value)
    if value <= 0:
        raise InputError(f"{owner}.{name}", "a positive number", value)


def positive_int(owner: str, name: str, value: int | None, *, allow_none: bool = False) -> None:
    """Raise InputError unless ``value`` is an integer >= 1 (or None when allowed)."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{owner}.{name}", "an integer >= 1", value)


def one_of(owner: str, name: str, value: str, allowed: tuple[str, ...]) -> None:
    """Raise InputError unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise InputError(f"{owner}.{name}", f"one of {', '.join(allowed)}", value)


def table_keys(where: str, table: Any, allowed: set[str]) -> dict[str, Any]:
    """``table`` if it is a TOML table whose keys are all in ``allowed`` (config loaders' exact-key check)."""
    if not isinstance(table, dict):
        raise InputError(where, "a table")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise InputError(f"{where}.{unknown[0]}", f"one of the known keys ({', '.join(sorted(allowed))})")
    return table


def required(where: str, table: dict[str, Any], key: str) -> Any:
    """``table[key]``, or an InputError naming the missing key."""
    if key not in table:
        raise InputError(f"{where}.{key}", "a value (required key is missing)")
    return table[key]
