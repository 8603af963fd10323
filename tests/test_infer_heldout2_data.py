"""Shape checks on validation/infer_heldout2.csv, the second serving hold-out (data only: no flopwatt prediction
is made on these rows, see validation/SPLIT_infer.md)."""

from __future__ import annotations

import heldout_data
from flopwatt import catalog
from flopwatt import validate as val
from heldout_data import ROOT

CSV = ROOT / "validation" / "infer_heldout2.csv"
PREFIXES = {"MLPA41", "MLPP51", "RHAT51", "MLPA60", "MLPP60", "KRAI60"}  # validation/DATASET_infer.md
UNITS = {"tokens/s"}
SCENARIOS = {"offline", "server", "max_load"}


def _rows() -> list[dict[str, str]]:
    return heldout_data.rows(CSV)


def _other_ids() -> dict[str, set[str]]:
    """Row ids of every other validation or benchmark data file that has an ``id`` column."""
    return {name: {r["id"] for r in rows} for name, rows in heldout_data.others(CSV).items()}


def test_ids_are_unique_new_and_carry_the_new_prefixes():
    rows = _rows()
    ids = [r["id"] for r in rows]
    assert len(rows) >= 20 and len(set(ids)) == len(ids)
    assert {i.rsplit("-", 1)[0] for i in ids} == PREFIXES
    others = _other_ids()
    assert "infer_heldout.csv" in others and "visible.csv" in others
    for name, other in others.items():
        assert not set(ids) & other, name
        assert not PREFIXES & {i.rsplit("-", 1)[0] for i in other}, name


def test_enums_units_and_held_out_marker():
    for r in _rows():
        assert r["kind"] == "infer" and r["unit"] in UNITS, r["id"]
        assert r["framework"] in val.FRAMEWORKS and r["metric"] in val.INFER_METRICS, r["id"]
        assert r["scenario"] in SCENARIOS, r["id"]
        assert r["source"] and r["network"] and "HELD OUT" in r["notes"], r["id"]


def test_run_inputs_present_and_in_range():
    """Every row publishes the run inputs validate needs (devices, mean output length); lengths, limits and the
    measured value are in physical ranges; the published plan uses exactly the row's devices."""
    for r in _rows():
        heldout_data.check_run_inputs(r)
        assert float(r["value"]) > 0, r["id"]
        if r["scenario"] == "server":
            assert 0 < float(r["ttft_p99_s"]) <= 10 and 0 < float(r["tpot_p99_s"]) <= 1, r["id"]


def test_accelerators_models_and_precisions_are_in_the_catalog():
    known = catalog.accelerators()
    for r in _rows():
        assert r["accelerator"] in known, r["id"]
        assert r["precision"] in known[r["accelerator"]].peak_flops_per_s, r["id"]
        model = catalog.model_by_name(r["model"])
        assert model is not None and model.layers == int(r["layers"]) and model.hidden == int(r["hidden"]), r["id"]


def test_read_by_the_validation_reader():
    """validate's own reader accepts the file (header order, numeric cells)."""
    assert len(val.read_rows(CSV)) == len(_rows())
