"""Shape checks on validation/infer_heldout4.csv, the fourth serving hold-out (data only: no flopwatt prediction
is made on these rows, see validation/SPLIT_infer.md)."""

from __future__ import annotations

import heldout_data
from flopwatt import validate as val
from flopwatt.validate import conventions as conv
from heldout_data import ROOT

CSV = ROOT / "validation" / "infer_heldout4.csv"
SCENARIOS = {"offline", "server"}


def _rows() -> list[dict[str, str]]:
    return heldout_data.rows(CSV)




def test_enums_units_and_held_out_marker():
    for r in _rows():
        assert r["kind"] == "infer" and r["unit"] == "tokens/s", r["id"]
        assert r["framework"] == "mlperf-amd" and r["framework"] in val.FRAMEWORKS, r["id"]
        assert r["metric"] == "output_tokens_per_s" and r["metric"] in val.INFER_METRICS, r["id"]
        assert r["scenario"] in SCENARIOS, r["id"]
        assert r["source"] and r["network"] and "HELD OUT" in r["notes"] and "fourth hold-out" in r["notes"], r["id"]


def test_rows_are_in_range_and_in_the_catalog():
    """Every row publishes the run inputs validate needs, its values and limits are in physical ranges, and its
    accelerator, precision, model and request set are in the catalog (:func:`heldout_data.check_amd_mlperf_row`)."""
    suite_models = heldout_data.mlperf_suite_models()
    for r in _rows():
        model = heldout_data.check_amd_mlperf_row(r)
        assert not r["input_len"] and model.id in suite_models, r["id"]


def test_conventions_give_every_row_its_request_set_and_generation_cap():
    """The rows leave input_len blank: conventions.toml must name the benchmark suite whose request set they use,
    mark the published batch limits (the v4.1 scripts publish none) and give MLPerf's 1024-token generation cap."""
    for r in _rows():
        convention = conv.for_row(r["id"])
        assert convention.suite == "mlperf-inference", r["id"]
        assert convention.run_sets_batch_limits == (not r["id"].startswith("MLPQ41")), r["id"]  # v4.1: no limits
        assert convention.max_output_tokens == 1024, r["id"]


def test_read_by_the_validation_reader():
    """validate's own reader accepts the file (header order, numeric cells)."""
    assert len(val.read_rows(CSV)) == len(_rows())
