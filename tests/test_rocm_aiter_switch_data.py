"""vLLM on AMD Instinct with AITER off and on (bench/data/rocm_aiter_switch.csv): schema, units and sourcing.
Reference data only; nothing is predicted here. A TPOT written in milliseconds instead of seconds, or a value pair
swapped, fails the checks below."""

from __future__ import annotations

from pathlib import Path

import heldout_data

CSV = Path(__file__).resolve().parents[1] / "bench" / "data" / "rocm_aiter_switch.csv"
COLUMNS = ["id", "engine", "engine_version_or_pr", "device", "n_devices", "model", "precision", "input_tokens",
           "output_tokens", "concurrency", "quantity", "value_aiter_off", "value_aiter_on", "source", "retrieved",
           "notes"]
QUANTITIES = {"output_tokens_per_s": (1.0, 1e6), "median_tpot_s": (1e-3, 1.0)}


def _rows() -> list[dict[str, str]]:
    return heldout_data.read(CSV)[1]


def test_header_ids_and_sources():
    header, rows = heldout_data.read(CSV)
    assert header == COLUMNS
    assert len({r["id"] for r in rows}) == len(rows)
    for r in rows:
        assert ("PR #" in r["source"] or "issue #" in r["source"]) and r["retrieved"] == "2026-12-07", r["id"]
        assert r["engine"] == "vllm" and r["precision"] in {"bf16", "fp16", "fp8", "fp4"}, r["id"]


def test_values_are_in_their_units_and_aiter_is_the_faster_setting():
    for r in _rows():
        low, high = QUANTITIES[r["quantity"]]
        off, on = float(r["value_aiter_off"]), float(r["value_aiter_on"])
        assert low <= off <= high and low <= on <= high, r["id"]
        faster_on = on > off if r["quantity"] == "output_tokens_per_s" else on < off
        assert faster_on, r["id"]
        assert int(r["concurrency"]) >= 1 and int(r["input_tokens"]) >= 1, r["id"]
