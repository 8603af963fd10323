"""Conversion at the edges only: parse numbers users type, format SI quantities for people."""

from __future__ import annotations

import math

_SUFFIX = {"k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "B": 1e9, "T": 1e12, "P": 1e15}


def parse_quantity(text: str) -> float:
    """'300e9', '300B', '15T', '1.5M' -> float. Raises ValueError on anything else."""
    text = text.strip().replace("_", "")
    scale = 1.0
    if text and text[-1] in _SUFFIX:
        scale = _SUFFIX[text[-1]]
        text = text[:-1]
    value = float(text) * scale
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def human(value: float, unit: str, *, base: float = 1000.0) -> str:
    """12.3e12, 'FLOP/s' -> '12.3 TFLOP/s' (binary prefixes when base=1024, e.g. GiB)."""
    prefixes = ["", "k", "M", "G", "T", "P", "E"] if base == 1000 else ["", "Ki", "Mi", "Gi", "Ti", "Pi"]
    if value == 0 or not math.isfinite(value):
        return f"{value:g} {unit}"
    exponent = min(max(int(math.floor(math.log(abs(value), base))), 0), len(prefixes) - 1)
    if abs(value) / base**exponent >= 999.5 and exponent + 1 < len(prefixes):
        exponent += 1
    return f"{value / base**exponent:.3g} {prefixes[exponent]}{unit}"


def duration(seconds: float) -> str:
    """Seconds -> the largest sensible unit ('1.2 ms', '3.4 s', '5.6 h', '7.8 days')."""
    for limit, div, unit in ((1e-3, 1e-6, "us"), (1, 1e-3, "ms"), (3600, 1, "s"), (86400 * 2, 3600, "h")):
        if abs(seconds) < limit:
            return f"{seconds / div:.3g} {unit}"
    return f"{seconds / 86400:.3g} days"
