"""flopwatt calibrate on a CPU: the no-GPU message, records parsing and overlay writing.

tests/data/calibrate_fixture_records.json is a TEST FIXTURE (synthetic records in the shape the GPU path
writes, its numbers made up from round formulas); nothing here is a measurement.
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

import pytest

from flopwatt import catalog
from flopwatt.calibrate import overlay
from flopwatt.calibrate.request import CalibrateRequest
from flopwatt.cli import main
from flopwatt.errors import InputError

FIXTURE = Path(__file__).parent / "data" / "calibrate_fixture_records.json"
ACC = "h100-sxm5-80gb"


@pytest.fixture(autouse=True)
def _clean_catalog():
    yield
    catalog.reset_overlays()


def _run(tmp_path, *extra) -> tuple[int, Path]:
    out = tmp_path / "cal.toml"
    rc = main(["calibrate", "--accelerator", ACC, "--out", str(out), "--retrieved", "2026-12-06", *extra])
    return rc, out


def test_without_torch_it_says_so_in_one_line_and_exits_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch -> ImportError
    rc, out = _run(tmp_path)
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "torch" in err and "GPU" in err
    assert not out.exists()


def test_fixture_is_labelled_as_such():
    data = json.loads(FIXTURE.read_text())
    assert data["test_fixture"] is True and "NOT measurements" in data["label"]


def test_overlay_from_records_loads_with_catalog_and_carries_the_fixture_label(tmp_path, capsys):
    rc, out = _run(tmp_path, "--from-records", str(FIXTURE))
    assert rc == 0, capsys.readouterr().err
    data = tomllib.loads(out.read_text())["efficiency"]
    assert set(data) == {"gemm", "low_precision", "memory", "all_reduce_measured"}
    for table in data.values():
        for entry in table.values():
            assert entry["source"].startswith("TEST FIXTURE, NOT A MEASUREMENT") and entry["retrieved"] == "2026-12-06"
    catalog.use_overlay(out)
    gemm = catalog.efficiency().gemm_for(ACC)
    assert list(gemm.op_flops) == data["gemm"][ACC]["op_flops"]
    assert catalog.efficiency().memory_for(ACC) == pytest.approx(data["memory"][ACC]["efficiency"])


def test_gemm_table_is_the_best_fraction_of_the_bf16_peak_per_flop_count():
    records = json.loads(FIXTURE.read_text())["records"]
    peak = catalog.get("accelerators", ACC).peak("bf16")
    sizes, effs = overlay.gemm_table(records, peak)
    assert sizes == sorted(set(sizes)) and all(0 < e <= 1 for e in effs)
    bf16 = [r for r in records if r["kind"] == "gemm" and r["dtype"] == "bf16"]
    for size, eff in zip(sizes, effs, strict=True):
        assert eff == max(r["flops"] / r["seconds"] / peak for r in bf16 if r["flops"] == size)


def test_a_gemm_faster_than_the_catalog_peak_is_refused():
    fast = [{"kind": "gemm", "dtype": "bf16", "flops": 2e12, "seconds": 1e-3}]  # 2 PFLOP/s > 989 TFLOP/s
    with pytest.raises(InputError, match="dense bf16 peak"):
        overlay.gemm_table(fast, catalog.get("accelerators", ACC).peak("bf16"))


def test_all_reduce_bus_bandwidth_hand_count():
    rec = [{"kind": "all_reduce", "ranks": 8, "bytes": 1e9, "seconds": 5e-3}]
    sizes, busbw = overlay.all_reduce_table(rec)
    assert sizes == [1e9] and busbw == [pytest.approx(2 * 7 / 8 * 1e9 / 5e-3)]
    assert overlay.all_reduce_table([{**rec[0], "ranks": 1}]) is None


def test_low_precision_ratio_compares_fractions_at_the_largest_common_shape():
    peaks = {"bf16": 1e15, "fp8": 2e15}
    recs = [{"kind": "gemm", "dtype": "bf16", "flops": 1e12, "seconds": 2e-3},   # 0.5 of bf16 peak
            {"kind": "gemm", "dtype": "fp8", "flops": 1e12, "seconds": 1.25e-3},  # 0.4 of fp8 peak
            {"kind": "gemm", "dtype": "fp8", "flops": 1e13, "seconds": 1e-2}]     # no bf16 at this size
    assert overlay.low_precision_ratio(recs, "fp8", peaks) == pytest.approx(0.8)
    assert overlay.low_precision_ratio(recs, "fp4", peaks) is None


@pytest.mark.parametrize(("record", "field"), [
    ({"kind": "gemm", "dtype": "bf16", "flops": 1e9}, "seconds"),
    ({"kind": "hbm", "bytes": -1.0, "seconds": 1.0}, "bytes"),
    ({"kind": "warp-drive"}, "kind"),
    ({"kind": "all_reduce", "ranks": 8, "bytes": 1e6, "seconds": True}, "seconds"),
])
def test_a_bad_record_is_one_error_naming_its_field(tmp_path, capsys, record, field):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"environment": {}, "records": [record]}))
    rc, out = _run(tmp_path, "--from-records", str(bad))
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and f"records[0].{field}" in err
    assert not out.exists()


def test_records_without_any_table_input_are_refused():
    data = {"environment": {}, "records": [{"kind": "skipped", "what": "all", "reason": "no GPU"}]}
    with pytest.raises(InputError, match="at least one"):
        overlay.build_overlay(data, catalog.get("accelerators", ACC), "nvlink4", "2026-12-06")


def test_toml_text_round_trips():
    data = json.loads(FIXTURE.read_text())
    built = overlay.build_overlay(data, catalog.get("accelerators", ACC), "nvlink4", "2026-12-06")
    assert tomllib.loads(overlay.to_toml(built, ["a note"])) == built


def test_options_come_from_the_request_model(tmp_path, capsys):
    rc, _ = _run(tmp_path, "--repeats", "2", "--from-records", str(FIXTURE))
    assert rc == 2 and "--repeats" in capsys.readouterr().err
    rc, _ = _run(tmp_path, "--low-precision", "fp16")
    assert rc == 2
    assert {"accelerator", "out", "repeats", "low_precision", "from_records", "retrieved", "scale_up"} == set(
        CalibrateRequest.model_fields)


def test_an_unknown_accelerator_is_one_line(tmp_path, capsys):
    rc = main(["calibrate", "--accelerator", "h1OO", "--out", str(tmp_path / "x.toml"),
               "--from-records", str(FIXTURE)])
    assert rc == 2 and len(capsys.readouterr().err.strip().splitlines()) == 1
