"""Shape checks on validation/infer_heldout7.csv, the seventh serving hold-out (data only: no flopwatt prediction
is made on these rows, see validation/SPLIT_infer.md). Written in the shared schema as an outside party would write
it (as the sixth): new prefixes with no conventions entry, a blank framework for every vLLM and SGLang row, the
engine and its release in notes only. Focus decided before any prediction: open engines outside MLPerf harnesses on
NVIDIA and AMD GPUs, dense and MoE models, every row with its plan and both mean lengths."""

from __future__ import annotations

import heldout_data
from flopwatt import catalog
from flopwatt import validate as val
from heldout_data import ROOT

CSV = ROOT / "validation" / "infer_heldout7.csv"


def _rows() -> list[dict[str, str]]:
    return heldout_data.rows(CSV)


def test_enums_units_and_held_out_marker():
    for r in _rows():
        assert r["kind"] == "infer" and r["unit"] == "tokens/s", r["id"]
        assert r["framework"] in heldout_data.SHARED_FRAMEWORKS, r["id"]
        assert r["metric"] == "output_tokens_per_s" and r["metric"] in val.INFER_METRICS, r["id"]
        assert r["scenario"] in {"offline", "max_load"}, r["id"]
        assert not r["ttft_p99_s"] and not r["tpot_p99_s"], r["id"]
        assert r["source"] and r["network"] and "HELD OUT" in r["notes"] and "seventh hold-out" in r["notes"], r["id"]


def test_focus_decided_before_any_prediction():
    """The lead's focus: at least 20 vLLM or SGLang rows (blank framework), at least 8 MoE rows, at least 6 rows on
    AMD GPUs, and both dense and MoE models on both vendors."""
    known = catalog.accelerators()
    rows = _rows()
    blank = [r for r in rows if not r["framework"]]
    assert len(rows) >= 20 and len(blank) >= 20
    moe = [r for r in rows if r["moe_experts"]]
    assert len(moe) >= 8
    amd = [r for r in rows if known[r["accelerator"]].vendor == "AMD"]
    assert len(amd) >= 6
    kinds = {(known[r["accelerator"]].vendor, bool(r["moe_experts"])) for r in rows}
    assert kinds == {("NVIDIA", True), ("NVIDIA", False), ("AMD", True), ("AMD", False)}


def test_rows_are_in_range_and_in_the_catalog():
    """Every row publishes devices, the plan (tp, pp, dp using exactly the row's devices), precision and both mean
    lengths; its value is a physical generated-token rate; its accelerator (with a peak at the row's precision) is in
    the catalog; its model resolves to a catalog model of the row's shape, or the row carries the architecture."""
    for r in _rows():
        heldout_data.check_run_inputs(r)
        assert r["input_len"], r["id"]
        if r["ep"]:
            assert int(r["ep"]) <= int(r["tp"]) * int(r["dp"]) <= int(r["n_devices"]), r["id"]
        moe = [r[k] for k in heldout_data.MOE_COLUMNS]
        assert all(moe) or not any(moe), r["id"]
        heldout_data.check_catalog_row(r)


def test_inferencex_rows_are_fixed_concurrency_sglang_runs_with_derived_lengths():
    """INFX rows: one SGLang engine per row (dp 1, tp = n_devices), request rate inf at a stated concurrency
    (max_load), the lengths derived from the benchmark script and the record (DATASET_infer.md, "Seventh hold-out")."""
    infx = [r for r in _rows() if r["id"].startswith("INFX")]
    assert len(infx) == 16
    for r in infx:
        assert r["scenario"] == "max_load" and r["dp"] == "1" and r["tp"] == r["n_devices"], r["id"]
        assert "SGLang" in r["notes"] and "--max-concurrency" in r["notes"] and "derived" in r["notes"], r["id"]
        assert float(r["output_len"]) in {921.5, 7372.5}, r["id"]


def test_dstack_rows_are_offline_vllm_runs_with_fixed_lengths():
    """DSTK405 rows: vLLM's offline benchmark on one node of 8 GPUs at tp 8, fixed prompt and output lengths, the
    generated-token rate derived from the record (prompt count x output length / elapsed time)."""
    dstk = [r for r in _rows() if r["id"].startswith("DSTK405")]
    assert len(dstk) == 8
    for r in dstk:
        assert r["scenario"] == "offline" and r["n_devices"] == r["tp"] == "8" and r["dp"] == "1", r["id"]
        assert "vLLM" in r["notes"] and "derived" in r["notes"] and not r["moe_experts"], r["id"]
        assert float(r["input_len"]).is_integer() and float(r["output_len"]) == 2048, r["id"]


def test_dstack_tgi_vs_vllm_rows_are_unbounded_rate_vllm_runs_with_derived_lengths():
    """DSTKTV rows: vllm serving benchmark at request rate inf on 8 MI300X (tp 8, BF16), both mean lengths derived
    from the printed record's totals."""
    rows = [r for r in _rows() if r["id"].startswith("DSTKTV")]
    assert len(rows) == 2
    for r in rows:
        assert r["scenario"] == "max_load" and r["accelerator"] == "mi300x" and r["precision"] == "bf16", r["id"]
        assert "vLLM" in r["notes"] and "derived" in r["notes"], r["id"]


def test_read_by_the_validation_reader():
    """validate's own reader accepts the file (header order, numeric cells)."""
    assert len(val.read_rows(CSV)) == len(_rows())
