"""Shape checks on validation/infer_heldout4.csv, the fourth serving hold-out (data only: no flopwatt prediction
is made on these rows, see validation/SPLIT_infer.md)."""

from __future__ import annotations

import heldout_data
from flopwatt import catalog
from flopwatt import validate as val
from flopwatt.validate import conventions as conv
from heldout_data import ROOT

CSV = ROOT / "validation" / "infer_heldout4.csv"
PREFIXES = {"MLPQ41", "MLPQ51", "MLPQ60"}  # validation/DATASET_infer.md, "Fourth hold-out"
SCENARIOS = {"offline", "server"}
SERVER_LIMITS = {("2", "0.2"), ("0.45", "0.04")}
"""MLPerf Server and Interactive p99 limits of llama2-70b and mixtral-8x7b (TTFT s, TPOT s)."""
EARLIER = {"infer_heldout.csv", "infer_heldout2.csv", "infer_heldout3.csv", "visible.csv", "mlperf_inference_v5.csv"}


def _rows() -> list[dict[str, str]]:
    return heldout_data.rows(CSV)


def _others() -> dict[str, list[dict[str, str]]]:
    return heldout_data.others(CSV)


def test_ids_are_unique_new_and_carry_the_new_prefixes():
    rows = _rows()
    ids = [r["id"] for r in rows]
    assert len(rows) >= 15 and len(set(ids)) == len(ids)
    assert {i.rsplit("-", 1)[0] for i in ids} == PREFIXES
    others = _others()
    assert EARLIER <= set(others)
    for name, other in others.items():
        other_ids = {r["id"] for r in other}
        assert not set(ids) & other_ids, name
        assert not PREFIXES & {i.rsplit("-", 1)[0] for i in other_ids}, name


def test_no_measurement_repeats_one_already_collected():
    """No row repeats a measurement of another file (the same accelerator, scenario and measured value), and no
    two rows of this file are one measurement."""
    seen = {_measurement(r) for rows in _others().values() for r in rows}
    mine = [_measurement(r) for r in _rows()]
    assert len(set(mine)) == len(mine)
    for r, key in zip(_rows(), mine, strict=True):
        assert key not in seen, r["id"]


def _measurement(row: dict[str, str]) -> tuple[str | None, str | None, float | str | None]:
    """(accelerator, scenario, value), the value as a number where it is one ('59040.80' is '59040.8')."""
    value = row.get("value")
    try:
        number: float | str | None = float(value) if value else value
    except ValueError:
        number = value
    return row.get("accelerator"), row.get("scenario"), number


def test_enums_units_and_held_out_marker():
    for r in _rows():
        assert r["kind"] == "infer" and r["unit"] == "tokens/s", r["id"]
        assert r["framework"] == "mlperf-amd" and r["framework"] in val.FRAMEWORKS, r["id"]
        assert r["metric"] == "output_tokens_per_s" and r["metric"] in val.INFER_METRICS, r["id"]
        assert r["scenario"] in SCENARIOS, r["id"]
        assert r["source"] and r["network"] and "HELD OUT" in r["notes"] and "fourth hold-out" in r["notes"], r["id"]


def test_run_inputs_present_and_in_range():
    """Every row publishes the run inputs validate needs (devices, mean output length); lengths, limits and the
    measured value are in physical ranges; the published plan uses exactly the row's devices."""
    for r in _rows():
        heldout_data.check_run_inputs(r)
        assert 0 < float(r["value"]) / int(r["n_devices"]) <= 20000, r["id"]  # generated tokens/s per device
        if r["scenario"] == "server":
            assert (r["ttft_p99_s"], r["tpot_p99_s"]) in SERVER_LIMITS, r["id"]


def test_accelerators_models_request_sets_and_precisions_are_in_the_catalog():
    known = catalog.accelerators()
    suite_models = {d.model for d in catalog.serving_datasets().values() if d.suite == "mlperf-inference"}
    for r in _rows():
        assert r["accelerator"] in known and known[r["accelerator"]].vendor != "NVIDIA", r["id"]
        assert r["precision"] in known[r["accelerator"]].peak_flops_per_s, r["id"]
        model = catalog.model_by_name(r["model"])
        assert model is not None and model.layers == int(r["layers"]) and model.hidden == int(r["hidden"]), r["id"]
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
