"""AMD's FP8 matmul rate relative to its BF16 rate (efficiency.toml [low_precision.mi300x/mi325x]).

AMD's Max-Achievable FLOPs table (ROCm blog 'Measuring Max-Achievable FLOPs - Part 2', Table 1) measures BF16
and FP8 with one method; the catalog's ratio is (FP8 MAF / FP8 peak) / (BF16 MAF / BF16 peak), the rule of
tools/efficiency_tables.py for same-source low-precision tables. The figures are restated here, so a change of
either the catalog or the accelerator peaks shows up.
"""

from __future__ import annotations

import tomllib
from importlib import resources

import pytest

from flopwatt import catalog

MAF_TFLOPS = {"mi300x": {"bf16": 708.0, "fp8": 1273.0}, "mi325x": {"bf16": 843.0, "fp8": 1519.0}}


@pytest.mark.parametrize("acc", sorted(MAF_TFLOPS))
def test_fp8_ratio_is_amds_maf_fp8_fraction_over_its_bf16_fraction(acc):
    eff, peaks = catalog.efficiency(), catalog.accelerators()[acc].peak_flops_per_s
    maf = MAF_TFLOPS[acc]
    expected = (maf["fp8"] * 1e12 / peaks["fp8"]) / (maf["bf16"] * 1e12 / peaks["bf16"])
    assert eff.low_precision_for(acc, "fp8") == pytest.approx(expected, abs=5e-5)
    raw = tomllib.loads(resources.files("flopwatt.catalog").joinpath("efficiency.toml").read_text(encoding="utf-8"))
    entry = raw["low_precision"][acc]
    assert "measuring-max-achievable-flops-part2" in entry["source"] and entry["retrieved"] == "2026-12-06"
    assert f"FP8 {maf['fp8']:.0f} TFLOPs" in entry["source"] and f"BF16 {maf['bf16']:.0f} TFLOPs" in entry["source"]


def test_fp8_reaches_a_lower_fraction_of_its_peak_than_bf16_on_cdna3():
    """AMD's own table: FP8 at 1230-1464 MHz reaches ~0.9 of the BF16 fraction (lower clocks under the denser
    FP8 load); the serving model's FP8 GEMMs on MI300X/MI325X run below the 16-bit fraction, no longer at it."""
    eff = catalog.efficiency()
    for acc in MAF_TFLOPS:
        assert 0.85 < eff.low_precision_for(acc, "fp8") < 0.95, acc
    for acc in AITER_TFLOPS:  # CDNA 4 from AMD's tuned-GEMM tables: also below the 16-bit fraction
        assert 0.85 < eff.low_precision_for(acc, "fp8") < 0.95 and 0.85 < eff.low_precision_for(acc, "fp4") < 0.95


AITER_TFLOPS = {"mi355x": {"bf16": 1596.61, "fp8": 2996.65, "fp4": 5806.15}}
"""The fastest shape of each dtype in ROCm/aiter@e4048607's tuned-GEMM tables (gfx950, tuned on MI355X)."""


@pytest.mark.parametrize("acc,measured_as", [("mi355x", "mi355x"), ("mi350x", "mi355x")])
def test_cdna4_ratios_are_aiters_fraction_of_each_peak_over_its_bf16_fraction(acc, measured_as):
    eff, peaks = catalog.efficiency(), catalog.accelerators()[measured_as].peak_flops_per_s
    rates = AITER_TFLOPS[measured_as]
    bf16 = rates["bf16"] * 1e12 / peaks["bf16"]
    for precision in ("fp8", "fp4"):
        expected = rates[precision] * 1e12 / peaks[precision] / bf16
        assert eff.low_precision_for(acc, precision) == pytest.approx(expected, abs=5e-5), precision
    raw = tomllib.loads(resources.files("flopwatt.catalog").joinpath("efficiency.toml").read_text(encoding="utf-8"))
    source = raw["low_precision"][acc]["source"]
    assert "ROCm/aiter@e4048607" in source and (acc == measured_as or "ASSUMED" in source)
