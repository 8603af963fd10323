"""vLLM and SGLang on AMD Instinct with AITER off and on (bench/data/rocm_aiter_switch.csv): schema, units,
sourcing. Reference data only; nothing is predicted here. A TPOT written in milliseconds instead of seconds, or a
value pair swapped, fails the checks below."""

from __future__ import annotations

from pathlib import Path

import heldout_data

CSV = Path(__file__).resolve().parents[1] / "bench" / "data" / "rocm_aiter_switch.csv"
COLUMNS = ["id", "engine", "engine_version_or_pr", "device", "n_devices", "model", "precision", "input_tokens",
           "output_tokens", "concurrency", "quantity", "value_aiter_off", "value_aiter_on", "source", "retrieved",
           "notes"]
QUANTITIES = {
    "output_tokens_per_s": (1.0, 1e6),
    "total_tokens_per_s_per_gpu": (1.0, 1e6),
    "throughput_tokens_per_s": (1.0, 1e6),  # the source does not say total or output tokens
    "median_tpot_s": (1e-3, 1.0),
    "mean_tpot_s": (1e-3, 1.0),
    "median_e2e_latency_s": (1e-2, 1e4),
}
HIGHER_IS_BETTER = {"output_tokens_per_s", "total_tokens_per_s_per_gpu", "throughput_tokens_per_s"}
SLOWER = "AITER slower"
"""Written in `notes` where the source measured AITER on as the slower setting."""


def _rows() -> list[dict[str, str]]:
    return heldout_data.read(CSV)[1]


def test_header_ids_and_sources():
    header, rows = heldout_data.read(CSV)
    assert header == COLUMNS
    assert [r["id"] for r in rows] == [f"RA-{i:02d}" for i in range(1, len(rows) + 1)]
    assert len(rows) >= 25
    for r in rows:
        cited = any(k in r["source"] for k in ("PR #", "issue #", "https://"))
        assert cited and r["retrieved"] == "2026-12-07", r["id"]
        assert r["engine"] in {"vllm", "sglang"} and r["precision"] in {"bf16", "fp16", "fp8", "fp4"}, r["id"]


def test_values_are_in_their_units_and_the_faster_setting_is_the_one_the_source_says():
    for r in _rows():
        low, high = QUANTITIES[r["quantity"]]
        off, on = float(r["value_aiter_off"]), float(r["value_aiter_on"])
        assert low <= off <= high and low <= on <= high, r["id"]
        faster_on = on > off if r["quantity"] in HIGHER_IS_BETTER else on < off
        assert faster_on != (SLOWER in r["notes"]), r["id"]
        assert r["input_tokens"] == "" or int(r["input_tokens"]) >= 1, r["id"]  # blank: not published
        assert r["concurrency"] == "" or int(r["concurrency"]) >= 1, r["id"]  # blank: offline run or not published
        assert r["n_devices"] == "" or int(r["n_devices"]) >= 1, r["id"]


def test_added_values_are_the_printed_figures():
    """From RA-06 on, each value is quoted in `source` or `notes` as printed (commas dropped; times in ms)."""
    for r in _rows()[5:]:
        text = (r["source"] + " " + r["notes"]).replace(",", "")
        for raw in (r["value_aiter_off"], r["value_aiter_on"]):
            printed = {raw} if r["quantity"] in HIGHER_IS_BETTER else {raw, f"{float(raw) * 1000:.2f}"}
            assert any(p in text for p in printed), (r["id"], raw)


def _sweep(marker: str) -> tuple[list[int], list[float]]:
    sweep = [r for r in _rows() if marker in r["source"]]
    ratios = [float(r["value_aiter_on"]) / float(r["value_aiter_off"]) for r in sweep]
    return sorted(int(r["concurrency"]) for r in sweep), ratios


def test_the_concurrency_sweeps_are_whole():
    concurrencies, ratios = _sweep("InferenceX PR #1808")
    assert concurrencies == [4, 8, 16, 32, 64, 128, 256]
    assert all(1.05 < x < 1.11 for x in ratios)  # the PR's +5.6% .. +10.8%
    concurrencies, ratios = _sweep("aiter-ablation-study")
    assert concurrencies == [1, 5, 10, 50, 100, 200, 500]
    assert all(0.98 < x < 1.11 for x in ratios)  # the page's -1.05% .. +10.01%
