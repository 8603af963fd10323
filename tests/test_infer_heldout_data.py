"""Shape checks on validation/infer_heldout.csv (data only: no flopwatt prediction is made on these
held-out rows, see validation/SPLIT_infer.md)."""

from __future__ import annotations

import csv
from pathlib import Path

from flopwatt import catalog
from flopwatt.validate import SCHEMA

CSV = Path(__file__).resolve().parent.parent / "validation" / "infer_heldout.csv"
FRAMEWORKS = {"vllm", "sglang", "tensorrt-llm", "mlperf-nvidia", "mlperf-amd", "deepseek-infer"}
METRICS = {"output_tokens_per_s", "input_tokens_per_s"}
NOT_IN_CATALOG = {"mi355x"}  # documented in validation/DATASET_infer.md


def _rows() -> list[dict[str, str]]:
    with CSV.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == SCHEMA
        return list(reader)


def test_schema_ids_and_enums():
    rows = _rows()
    assert len(rows) >= 20
    assert len({r["id"] for r in rows}) == len(rows)
    for r in rows:
        assert r["kind"] == "infer" and r["unit"] == "tokens/s", r["id"]
        assert r["framework"] in FRAMEWORKS and r["metric"] in METRICS, r["id"]
        assert r["scenario"] in ("offline", "server", "max_load"), r["id"]
        assert r["source"] and "HELD OUT" in r["notes"], r["id"]


def test_layouts_add_up_and_values_are_positive():
    known = set(catalog.accelerators())
    for r in _rows():
        n, tp, dp = int(r["n_devices"]), int(r["tp"]), int(r["dp"])
        assert n == tp * int(r["pp"] or 1) * dp, r["id"]
        assert float(r["value"]) > 0, r["id"]
        assert r["accelerator"] in known | NOT_IN_CATALOG, r["id"]


def test_every_framework_is_represented():
    assert {r["framework"] for r in _rows()} == FRAMEWORKS


def test_deepseek_service_rows_resolve_and_carry_only_published_lengths():
    """DSINF rows name the V3/R1 service (names.SERVICE_NAMES); DSINF-02's input_len is the day-6 page's
    average KV length per output token, DSINF-01 has no published prompt length (blank)."""
    from flopwatt.validate import conventions as conv

    rows = {r["id"]: r for r in _rows() if r["id"].startswith("DSINF")}
    assert set(rows) == {"DSINF-01", "DSINF-02"}
    for r in rows.values():
        assert catalog.model_by_name(r["model"]).id == "deepseek-v3"
    assert rows["DSINF-02"]["input_len"] == "4989" and rows["DSINF-01"]["input_len"] == ""
    assert conv.for_row("DSINF-01").phase == "prefill" and conv.for_row("DSINF-02").phase == "decode"
    assert conv.for_row("DSINF-02").engine == "deepseek-infer-2025-02" and conv.for_row("DSINF-02").attention_dp
