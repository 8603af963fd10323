"""Shape checks on validation/infer_heldout9.csv, the ninth serving hold-out (data only: no flopwatt prediction is
made on these rows, see validation/SPLIT_infer.md). Written in the shared schema as an outside party would write it
(as the sixth to eighth): new prefixes with no conventions entry, framework `tensorrt-llm` for trtllm-bench, the
engine release and the exact layout flags in notes only. Focus decided by the lead before any prediction:
mixture-of-experts models at full load (trtllm-bench offline runs of 1000+ queued requests) whose expert parallelism
is published, by layout: attention data-parallel with experts split over the same ranks, attention tensor-parallel
with experts inside the TP group, or plain tensor parallel. Ids, prefixes, repeated measurements and conventions are
checked for every hold-out in tests/test_heldout_files.py."""

from __future__ import annotations

import re

import heldout_data
from flopwatt import catalog
from flopwatt import validate as val
from heldout_data import ROOT

CSV = ROOT / "validation" / "infer_heldout9.csv"
ATTENTION_DP = "ATTENTION DATA-PARALLEL"
ATTENTION_TP_EP = "ATTENTION TENSOR-PARALLEL, EXPERTS INSIDE THE TP GROUP"
PLAIN_TP = "PLAIN"
LAYOUTS = (ATTENTION_DP, ATTENTION_TP_EP, PLAIN_TP)
MAX_TOKENS_PER_S_PER_DEVICE = 50000  # range check only: gpt-oss-120b on one B200 prints ~29k generated tokens/s
MIN_QUEUED_REQUESTS = 1000  # the focus: offline runs of at least this many queued requests


def _rows() -> list[dict[str, str]]:
    return heldout_data.rows(CSV)


def _layout(row: dict[str, str]) -> str:
    """The one layout marker the row's notes carry (never parsed by flopwatt; the test only checks it is there)."""
    found = [m for m in LAYOUTS if m in row["notes"]]
    assert len(found) == 1, (row["id"], found)
    return found[0]


def _requests(row: dict[str, str]) -> int:
    """The queued request count the notes state, as '<n> requests' or '--num_requests <n>'."""
    counts = [int(n.replace(",", "")) for n in re.findall(r"([\d,]+) requests", row["notes"])]
    counts += [int(n) for n in re.findall(r"--num_requests (\d+)", row["notes"])]
    assert counts, row["id"]
    return min(counts)


def test_enums_units_and_held_out_marker():
    for r in _rows():
        assert r["kind"] == "infer" and r["unit"] == "tokens/s", r["id"]
        assert r["framework"] == "tensorrt-llm" and r["framework"] in heldout_data.SHARED_FRAMEWORKS, r["id"]
        assert r["metric"] == "output_tokens_per_s" and r["metric"] in val.INFER_METRICS, r["id"]
        assert r["scenario"] == "offline", r["id"]
        assert r["source"] and r["network"], r["id"]
        assert "HELD OUT" in r["notes"] and "ninth hold-out" in r["notes"], r["id"]


def test_focus_decided_before_any_prediction():
    """The lead's focus: every row a MoE model at full load (an offline run of 1000+ queued requests), at least 20
    rows, more than one model, and at least 8 attention data-parallel rows. The attention tensor-parallel
    expert-parallel layout is the focus's other half; how many such rows were found is reported in DATASET_infer.md
    (none met the full-load rule within the look-up budget), so only its marker's meaning is checked below."""
    rows = _rows()
    assert len(rows) >= 20
    assert all(r["moe_experts"] and int(r["moe_experts"]) > 1 for r in rows)
    assert all(_requests(r) >= MIN_QUEUED_REQUESTS for r in rows)
    assert len({r["moe_experts"] + r["layers"] for r in rows}) >= 4
    assert sum(_layout(r) == ATTENTION_DP for r in rows) >= 8


def test_layout_marker_matches_the_plan_columns():
    """Attention data-parallel rows: one engine whose experts are split over all its ranks (ep = tp = n_devices,
    dp 1); attention tensor-parallel expert-parallel rows: ep = tp; plain tensor-parallel rows: no ep."""
    for r in _rows():
        layout = _layout(r)
        if layout == ATTENTION_DP:
            assert r["ep"] == r["tp"] == r["n_devices"] and r["dp"] == "1", r["id"]
        elif layout == ATTENTION_TP_EP:
            assert r["ep"] == r["tp"], r["id"]
        else:
            assert not r["ep"], r["id"]


def test_rows_are_in_range_and_in_the_catalog():
    """Every row publishes devices, the plan (tp, pp, dp using exactly the row's devices), precision and both mean
    lengths; its value is a physical generated-token rate; its accelerator (with a peak at the row's precision) is in
    the catalog; its model resolves to a catalog model of the row's shape, or the row carries the architecture."""
    for r in _rows():
        heldout_data.check_run_inputs(r)
        assert r["input_len"], r["id"]
        assert catalog.accelerators()[r["accelerator"]].vendor == "NVIDIA", r["id"]
        assert all(r[k] for k in heldout_data.MOE_COLUMNS), r["id"]  # every row an MoE model
        heldout_data.check_catalog_row(r, MAX_TOKENS_PER_S_PER_DEVICE)


def test_per_gpu_tables_are_multiplied_out():
    """TRT12 rows: the release 1.2 table prints output tokens/s per GPU; value = that figure x the row's GPUs, with
    the arithmetic in notes (derived)."""
    rows = [r for r in _rows() if r["id"].startswith("TRT12")]
    assert rows
    for r in rows:
        per_gpu = int(re.search(r": ([\d,]+) output tokens/s per GPU", r["notes"]).group(1).replace(",", ""))
        assert float(r["value"]) == per_gpu * int(r["n_devices"]) and "derived" in r["notes"], r["id"]


def test_guide_rows_agree_with_their_printed_request_rate():
    """TRTBP rows: the printed total output rate over the printed request rate is the row's output length."""
    rows = [r for r in _rows() if r["id"].startswith("TRTBP")]
    assert rows
    for r in rows:
        rate = float(re.search(r"Request Throughput ([\d.]+) req/s", r["notes"]).group(1))
        assert abs(float(r["value"]) / rate - float(r["output_len"])) < 1.0, r["id"]


def test_read_by_the_validation_reader():
    """validate's own reader accepts the file (header order, numeric cells)."""
    assert len(val.read_rows(CSV)) == len(_rows())
