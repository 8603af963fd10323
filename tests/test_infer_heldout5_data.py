"""Shape checks on validation/infer_heldout5.csv, the fifth serving hold-out (data only: no flopwatt prediction
is made on these rows, see validation/SPLIT_infer.md)."""

from __future__ import annotations

import heldout_data
from flopwatt import catalog
from flopwatt import validate as val
from flopwatt.validate import conventions as conv
from heldout_data import ROOT

CSV = ROOT / "validation" / "infer_heldout5.csv"
FRAMEWORKS = {"vllm", "sglang"}  # issue 17: engines other than TensorRT-LLM


def _rows() -> list[dict[str, str]]:
    return heldout_data.rows(CSV)




def test_enums_units_and_held_out_marker():
    for r in _rows():
        assert r["kind"] == "infer" and r["unit"] == "tokens/s", r["id"]
        assert r["framework"] in FRAMEWORKS and r["framework"] in val.FRAMEWORKS, r["id"]
        assert r["metric"] == "output_tokens_per_s" and r["metric"] in val.INFER_METRICS, r["id"]
        assert r["scenario"] == "offline", r["id"]
        assert r["source"] and r["network"] and "HELD OUT" in r["notes"] and "fifth hold-out" in r["notes"], r["id"]


def test_rows_are_in_range_and_in_the_catalog():
    """Every row publishes devices, plan, precision and both mean lengths (no request set is needed), its value is
    a physical generated-token rate, and its accelerator (with a peak at the row's precision) and model (of the
    row's shape) are in the catalog."""
    known = catalog.accelerators()
    for r in _rows():
        heldout_data.check_run_inputs(r)
        assert r["input_len"], r["id"]
        assert 0 < float(r["value"]) / int(r["n_devices"]) <= 20000, r["id"]
        assert r["accelerator"] in known and r["precision"] in known[r["accelerator"]].peak_flops_per_s, r["id"]
        model = catalog.model_by_name(r["model"])
        assert model is not None and model.layers == int(r["layers"]) and model.hidden == int(r["hidden"]), r["id"]
        if r["moe_experts"]:
            assert model.moe is not None and model.moe.experts == int(r["moe_experts"]), r["id"]
            assert int(r["tp"]) * int(r["ep"]) * int(r["pp"]) <= int(r["n_devices"]), r["id"]


def test_dstack_rows_are_the_fixed_length_runs_with_at_least_256_prompts():
    """DSTKR1 rows: 3200-token prompts, 800/1600/3200 generated tokens (ignore_eos), tp 8 on one node of 8; the
    source's runs with fewer than 256 prompts are not in the file (DATASET_infer.md, "Fifth hold-out")."""
    dstack = [r for r in _rows() if r["id"].startswith("DSTKR1")]
    assert len(dstack) == 33
    for r in dstack:
        assert float(r["input_len"]) == 3200 and float(r["output_len"]) in {800, 1600, 3200}, r["id"]
        assert (r["n_devices"], r["tp"], r["dp"], r["ep"]) == ("8", "8", "1", "1"), r["id"]
        assert "num_requests=" in r["source"] and int(r["source"].split("num_requests=")[1].split(")")[0]) >= 256


def test_conventions_name_no_suite_engine_or_limits():
    """Each prefix has a conventions.toml entry; the rows carry their own lengths (no suite), ran engine releases
    without a profile (no engine), set no batch limits of their own and cap each request at its own output."""
    for r in _rows():
        assert conv.known(r["id"]), r["id"]
        convention = conv.for_row(r["id"])
        assert convention.suite is None and convention.engine is None, r["id"]
        assert not convention.run_sets_batch_limits and convention.max_output_tokens is None, r["id"]
        assert convention.phase is None and not convention.attention_dp, r["id"]


def test_read_by_the_validation_reader():
    """validate's own reader accepts the file (header order, numeric cells)."""
    assert len(val.read_rows(CSV)) == len(_rows())
