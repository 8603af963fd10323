"""Conversion at the edges only: parse numbers users type, format SI quantities for people."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

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


def number(value: float, digits: int = 3) -> str:
    """``digits`` significant digits with thousands separators, never an exponent: 84,872 / 0.572 / 1,234.

    The same rule as ``fmt.num`` of the web page (src/flopwatt/server/format.js)."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(0, min(digits - 1 - magnitude, 6))
    # halves round away from zero on the shortest decimal form, as the browser's Intl.NumberFormat does
    rounded = Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    text = f"{rounded:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def percent(share: float) -> str:
    """0.572 -> '57.2%'."""
    return f"{number(100 * share)}%"


def usd(value: float) -> str:
    """US$ with k/M/B: '$936k', '$24.1M', '$1.2B', '$0.118' (as ``fmt.usd`` of the web page)."""
    sign, size = ("-" if value < 0 else ""), abs(value)
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if size >= div * 0.9995:
            return f"{sign}${number(size / div)}{suffix}"
    return f"{sign}${number(size)}"


def duration(seconds: float) -> str:
    """Seconds -> the largest sensible unit ('1.2 ms', '3.4 s', '5.6 h', '7.8 days', '1,234 days')."""
    for limit, div, unit in ((1e-3, 1e-6, "us"), (1, 1e-3, "ms"), (3600, 1, "s"), (86400 * 2, 3600, "h")):
        if abs(seconds) < limit:
            return f"{number(seconds / div)} {unit}"
    return f"{number(seconds / 86400)} days"
