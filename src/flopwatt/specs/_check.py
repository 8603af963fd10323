"""Small checks shared by the spec dataclasses' ``__post_init__``."""

from __future__ import annotations

import math

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
