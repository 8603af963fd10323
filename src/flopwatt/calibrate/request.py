"""Options of ``flopwatt calibrate`` as one request model (the CLI's flags derive from it, cli_options.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from flopwatt.api import fields as f
from flopwatt.api.requests import Request

Repeats = Annotated[int, f.Whole, Field(ge=3, le=10_000, description=(
    "timed repetitions per microbenchmark (the median is kept)"))]


class CalibrateRequest(Request):
    """What to measure on the local GPU and where the overlay goes."""

    accelerator: f.CatalogId = Field(description=(
        "catalog accelerator id of the local GPU (required: the device's name is never parsed); the overlay's "
        "tables are keyed by it"))
    out: Path = Field(description="overlay TOML to write (a catalog fragment for --catalog / FLOPWATT_CATALOG)")
    scale_up: f.CatalogId | None = Field(None, description=(
        "scale-up link technology the all-reduce table is keyed by (default: the catalog system's for the "
        "accelerator)"))
    repeats: Repeats = Field(20, description="timed repetitions per microbenchmark (the median is kept)")
    low_precision: Literal["fp8", "none"] = Field("fp8", description=(
        "low-precision GEMMs to measure beside bf16 (their sustained ratio over bf16 goes to low_precision)"))
    from_records: Path | None = Field(None, description=(
        "build the overlay from a records JSON written by an earlier run (no GPU needed) instead of measuring"))
    retrieved: str | None = Field(None, description=(
        "date of the measurement, YYYY-MM-DD, written into every table (default: today, UTC)"),
        pattern=r"^\d{4}-\d{2}-\d{2}$")
