"""The defaults, bounds and value converters of :mod:`flopwatt.api.fields`, without pydantic.

Kept apart from the annotated types so that reading them imports no pydantic (``api.train`` and the CLI's
checks of its options, :mod:`flopwatt.api.request_spec`); :mod:`flopwatt.api.fields` uses them, and they are
defined here only.
"""

from __future__ import annotations

import math
from typing import Any

from flopwatt.units import parse_quantity

MAX_DEVICES = 10_000_000
"""Bound on device counts (the largest clusters announced are ~10^6 devices)."""

DEFAULTS: dict[str, Any] = {
    "train.model": "gpt3-175b",
    "train.accelerator": "a100-sxm4-80gb",
    "train.devices": 1024,
    "train.global_batch": 1536,
    "train.tokens": 300e9,
    "train.stack": "megatron-core",
    "site": "us-virginia",
    "cooling": "air",
    "switch": "eth-51t2-400g",
    "serve.model": "llama2-70b",
    "serve.accelerator": "h100-sxm5-80gb",
    "serve.devices": 8,
    "serve.precision": "fp8",
}
"""Defaults of settings a user may leave out; each one used is listed in the output's assumptions."""


def quantity(value: Any) -> Any:
    """'300e9', '15T' -> float; numbers pass; NaN and infinities are refused."""
    if isinstance(value, str):
        try:
            return parse_quantity(value)
        except ValueError as exc:
            raise ValueError("a number (e.g. 300e9 or 300B)") from exc
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("a finite number")
    return value


def whole(value: Any) -> Any:
    """A quantity that must be a whole number ('1K' -> 1000; 2.5 is refused)."""
    value = quantity(value)
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("a whole number")
        return int(value)
    return value


def not_true_false(value: Any) -> Any:
    """A count or stage is never true/false (pydantic would read true as 1)."""
    if isinstance(value, bool):
        raise ValueError("an integer, not true/false")
    return value


CONVERTERS = {"quantity": quantity, "whole": whole, "not_true_false": not_true_false}
"""The converters of the annotated types (pydantic BeforeValidators), by the name a request spec gives them."""
