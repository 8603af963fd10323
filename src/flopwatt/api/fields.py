"""Every user setting, defined once: type, unit, bounds and default.

The request models of :mod:`flopwatt.api.requests` (and the plan-search config) are built from these
annotated types, and every entry point is derived from those models: the CLI's options
(:mod:`flopwatt.cli`), ``--config`` TOML tables, plan configs and the web's JSON schema. A number
field accepts a number or a quantity string (``"300e9"``, ``"15T"``, ``"1.5M"``) in every entry point.
Units are SI, named in the field (``_s``, ``_w``, ``_usd_per_kwh``); token counts are in tokens,
batches in sequences.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from flopwatt.units import parse_quantity

MAX_DEVICES = 10_000_000
"""Bound on device counts (the largest clusters announced are ~10^6 devices)."""


def _quantity(value: Any) -> Any:
    """'300e9', '15T' -> float; numbers pass; NaN and infinities are refused."""
    if isinstance(value, str):
        try:
            return parse_quantity(value)
        except ValueError as exc:
            raise ValueError("a number (e.g. 300e9 or 300B)") from exc
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("a finite number")
    return value


def _whole(value: Any) -> Any:
    """A quantity that must be a whole number ('1K' -> 1000; 2.5 is refused)."""
    value = _quantity(value)
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("a whole number")
        return int(value)
    return value


def _not_true_false(value: Any) -> Any:
    """A count or stage is never true/false (pydantic would read true as 1)."""
    if isinstance(value, bool):
        raise ValueError("an integer, not true/false")
    return value


Quantity = BeforeValidator(_quantity)
Whole = BeforeValidator(_whole)

# --- what is computed
ModelRef = Annotated[str, Field(min_length=1, max_length=512, description=(
    "model: a catalog id or alias (case, spaces, dots, org prefix, -hf/Instruct/Chat suffixes are normalised), "
    "or (CLI and Python only) a Hugging Face config.json or a TOML model file in the catalog's schema"))]
Tokens = Annotated[float, Quantity, Field(gt=0, le=1e18, description="training tokens (e.g. 300e9 or 15T)")]
GlobalBatch = Annotated[int, Whole, Field(ge=1, le=100_000_000, description="sequences per optimizer step")]
SeqLen = Annotated[int, Whole, Field(ge=1, le=100_000_000, description=(
    "tokens per sequence (default: the model's published context)"))]
Precision = Literal["fp32", "tf32", "fp16", "bf16", "fp8", "fp4"]
ServePrecision = Literal["fp32", "tf32", "bf16", "fp16", "fp8", "fp4", "int8", "int4"]

# --- on what
AcceleratorRef = Annotated[str, Field(min_length=1, max_length=512, description=(
    "catalog accelerator id, or (CLI and Python only) a TOML catalog fragment defining one"))]
SystemRef = Annotated[str, Field(min_length=1, max_length=512, description=(
    "catalog system id (default: the catalog's system for the accelerator), or a TOML catalog fragment"))]
Devices = Annotated[int, Whole, Field(ge=1, le=MAX_DEVICES, description="devices (GPUs or TPU chips)")]
CatalogId = Annotated[str, Field(min_length=1, max_length=128)]

# --- how (plan knobs: None = chosen)
Degree = Annotated[int, Whole, Field(ge=1, le=MAX_DEVICES, description="fixed; chosen when left out")]
Recompute = Literal["none", "selective", "full"]
Zero = Annotated[Literal[0, 1, 2, 3], BeforeValidator(_not_true_false)]

# --- where (site, cooling, prices)
Pue = Annotated[float, Quantity, Field(ge=1, le=10, description="facility energy / IT energy")]
UsdPerKwh = Annotated[float, Quantity, Field(ge=0, le=100, description="US$ per kWh")]
GramsPerKwh = Annotated[float, Quantity, Field(ge=0, le=10_000, description="gCO2e per kWh")]
Factor = Annotated[float, Quantity, Field(gt=0, le=1000)]

# --- fabric
Topology = Literal["fat-tree", "rail-optimized", "rail-only", "dragonfly", "torus"]
MediaPolicy = Literal["auto", "copper-first", "optics", "lpo", "cpo"]
Oversubscription = Annotated[float, Quantity, Field(ge=1, le=64, description="leaf downlink : uplink")]
Shape = Annotated[tuple[int, ...], Field(min_length=1, max_length=3)]

# --- serving
TokenCount = Annotated[float, Quantity, Field(ge=1, le=10_000_000, description="mean tokens per request")]
Seconds = Annotated[float, Quantity, Field(gt=0, le=3600, description="seconds")]
Percentile = Annotated[float, Quantity, Field(ge=1, le=99.9, description="share of requests meeting the SLOs, %")]
Watts = Annotated[float, Quantity, Field(gt=0, le=100_000, description="W")]

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
