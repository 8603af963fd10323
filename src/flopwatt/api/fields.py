"""Every user setting, defined once: type, unit, bounds and default.

The request models of :mod:`flopwatt.api.requests` (and the plan-search config) are built from these
annotated types, and every entry point is derived from those models: the CLI's options
(:mod:`flopwatt.cli`), ``--config`` TOML tables, plan configs and the web's JSON schema. A number
field accepts a number or a quantity string (``"300e9"``, ``"15T"``, ``"1.5M"``) in every entry point.
Units are SI, named in the field (``_s``, ``_w``, ``_usd_per_kwh``); token counts are in tokens,
batches in sequences.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from flopwatt.api.defaults import DEFAULTS as DEFAULTS  # re-exported: defined in api/defaults.py (no pydantic)
from flopwatt.api.defaults import MAX_DEVICES
from flopwatt.api.defaults import not_true_false as _not_true_false
from flopwatt.api.defaults import quantity as _quantity
from flopwatt.api.defaults import whole as _whole

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
Sequences = Annotated[int, Whole, Field(ge=1, le=1_000_000, description="sequences")]
MemoryShare = Annotated[float, Quantity, Field(gt=0, le=1, description="share of a device's memory")]
LengthCv = Annotated[float, Quantity, Field(ge=0, le=10, description="standard deviation / mean of a length")]
Seconds = Annotated[float, Quantity, Field(gt=0, le=3600, description="seconds")]
Percentile = Annotated[float, Quantity, Field(ge=1, le=99.9, description="share of requests meeting the SLOs, %")]
Watts = Annotated[float, Quantity, Field(gt=0, le=100_000, description="W")]
