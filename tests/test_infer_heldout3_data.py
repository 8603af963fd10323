"""Shape checks on validation/infer_heldout3.csv, the third serving hold-out (data only: no flopwatt prediction
is made on these rows, see validation/SPLIT_infer.md)."""

from __future__ import annotations

import heldout_data
from flopwatt import validate as val
from heldout_data import ROOT

CSV = ROOT / "validation" / "infer_heldout3.csv"
UNITS = {"tokens/s"}
SCENARIOS = {"offline", "server", "max_load"}
NON_TRTLLM = {"mlperf-amd", "vllm", "sglang"}
"""Issue 17: rows from non-NVIDIA accelerators or non-TensorRT-LLM engines."""


def _rows() -> list[dict[str, str]]:
    return heldout_data.rows(CSV)



def test_enums_units_and_held_out_marker():
    for r in _rows():
        assert r["kind"] == "infer" and r["unit"] in UNITS, r["id"]
        assert r["framework"] in val.FRAMEWORKS and r["framework"] in NON_TRTLLM, r["id"]
        assert r["metric"] in val.INFER_METRICS and r["scenario"] in SCENARIOS, r["id"]
        assert r["source"] and r["network"] and "HELD OUT" in r["notes"] and "third hold-out" in r["notes"], r["id"]


def test_rows_are_in_range_and_in_the_catalog():
    """Every row publishes the run inputs validate needs, its values and limits are in physical ranges, and its
    accelerator, precision, model and request set are in the catalog (:func:`heldout_data.check_amd_mlperf_row`)."""
    suite_models = heldout_data.mlperf_suite_models()
    for r in _rows():
        model = heldout_data.check_amd_mlperf_row(r)
        assert r["input_len"] or model.id in suite_models, r["id"]


def test_read_by_the_validation_reader():
    """validate's own reader accepts the file (header order, numeric cells)."""
    assert len(val.read_rows(CSV)) == len(_rows())
