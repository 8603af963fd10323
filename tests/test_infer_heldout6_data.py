"""Shape checks on validation/infer_heldout6.csv, the sixth serving hold-out (data only: no flopwatt prediction
is made on these rows, see validation/SPLIT_infer.md). Unlike the earlier hold-outs it is written in the shared
schema as an outside party would write it: new prefixes with no conventions entry, and DATASET.md's framework
enum (vLLM, SGLang, AMD's harness and LLMBoost rows carry a blank framework)."""

from __future__ import annotations

import heldout_data
from flopwatt import catalog
from flopwatt import validate as val
from heldout_data import ROOT

CSV = ROOT / "validation" / "infer_heldout6.csv"
SERVER_LIMITS = {("2", "0.2"), ("0.45", "0.04"), ("6", "0.175"), ("2", "0.08")}
"""MLPerf Server / Interactive p99 limits (TTFT s, TPOT s): llama2-70b and mixtral Server, llama2-70b Interactive,
llama3.1-405b Server, deepseek-r1 Server."""


def _rows() -> list[dict[str, str]]:
    return heldout_data.rows(CSV)


def test_enums_units_limits_and_held_out_marker():
    for r in _rows():
        assert r["kind"] == "infer" and r["unit"] == "tokens/s", r["id"]
        assert r["framework"] in heldout_data.SHARED_FRAMEWORKS, r["id"]
        assert r["metric"] == "output_tokens_per_s" and r["metric"] in val.INFER_METRICS, r["id"]
        assert r["scenario"] in {"offline", "server", "max_load"}, r["id"]
        if r["scenario"] == "server":
            assert (r["ttft_p99_s"], r["tpot_p99_s"]) in SERVER_LIMITS, r["id"]
        assert r["source"] and r["network"] and "HELD OUT" in r["notes"] and "sixth hold-out" in r["notes"], r["id"]


def test_most_rows_are_outside_tensorrt_llm():
    """Issue acceptance: at least 15 rows ran vLLM, SGLang, AMD's harness or LLMBoost (a blank framework), and
    non-NVIDIA accelerators are among them."""
    known = catalog.accelerators()
    blank = [r for r in _rows() if not r["framework"]]
    assert len(blank) >= 15
    assert sum(known[r["accelerator"]].vendor != "NVIDIA" for r in blank) >= 15


def test_rows_are_in_range_and_in_the_catalog():
    """Every row publishes devices, precision and a mean output length; a published plan uses exactly the row's
    devices; its value is a physical generated-token rate; its accelerator (with a peak at the row's precision) is in
    the catalog; its model resolves to a catalog model of the row's shape, or the row carries the architecture."""
    for r in _rows():
        heldout_data.check_run_inputs(r, plan_published=False)
        if r["ep"]:
            assert int(r["ep"]) <= int(r["n_devices"]), r["id"]
        heldout_data.check_catalog_row(r)


def test_rows_without_a_prompt_length_are_mlperf_tasks_with_a_catalog_request_set():
    """A blank input_len is left only on MLPerf rows (the source names the dataset), whose model has an MLPerf
    request set in the catalog; every other row gives its mean prompt length."""
    suite = heldout_data.mlperf_suite_models()
    for r in _rows():
        if not r["input_len"]:
            assert r["id"].startswith("MLCT"), r["id"]
            model = catalog.model_by_name(r["model"])
            assert model is not None and model.id in suite, r["id"]


def test_gpustack_rows_are_unbounded_rate_runs_with_derived_lengths():
    """GPSTK rows: vllm bench serve at request rate inf (max_load), one engine per row (dp 1), both mean lengths
    derived from the record's totals (DATASET_infer.md, "Sixth hold-out")."""
    gpustack = [r for r in _rows() if r["id"].startswith("GPSTK")]
    assert len(gpustack) == 10
    for r in gpustack:
        assert r["scenario"] == "max_load" and r["input_len"] and r["dp"] == "1", r["id"]
        assert "derived" in r["notes"], r["id"]


def test_read_by_the_validation_reader():
    """validate's own reader accepts the file (header order, numeric cells)."""
    assert len(val.read_rows(CSV)) == len(_rows())
