"""Shape checks on validation/infer_heldout11.csv, the eleventh serving hold-out (data only: no flopwatt prediction is
made on these rows, see validation/SPLIT_infer.md). Written in the shared schema as an outside party would write it
(as the sixth to tenth): new prefixes with no conventions entry, framework blank (vLLM, SGLang: engines not in
DATASET.md's list), the engine release and the exact commands in notes only. Focus decided by the lead before any
prediction: published serving throughput of MIXTURE-OF-EXPERTS models on any engine and accelerator of DATASET.md's
enum, in two kinds of run: FIXED LOAD (a stated number of requests in flight, at least 4x that many prompts,
``micro_batch`` = the concurrency per engine replica) and FULL LOAD (500+ prompts, no cap, ``micro_batch`` blank).
Ids, prefixes, repeated measurements and conventions are checked for every hold-out in tests/test_heldout_files.py."""

from __future__ import annotations

import re

import heldout_data
from flopwatt import validate as val
from heldout_data import ROOT

CSV = ROOT / "validation" / "infer_heldout11.csv"
FULL_LOAD = "FULL LOAD"
FIXED = "FIXED LOAD"
TEP = "TEP"
ATTENTION_DP = "ATTENTION DATA-PARALLEL"
MIN_FULL_LOAD_PROMPTS = 500  # the focus: full-load runs send at least this many prompts at once
MIN_PROMPTS_PER_SLOT = 4  # the focus: fixed-load runs send at least 4x the concurrency
MAX_SHARE_OF_ONE_SOURCE = 0.4  # the focus: no more than 40 % of the rows from one source
MAX_TOKENS_PER_S_PER_DEVICE = 20000  # range check only: the largest row is ~2,800 generated tokens/s per GPU
PRINTED_DURATION = re.compile(r"Printed duration: ([\d.]+) s, (\d+) successful requests, total input tokens (\d+), "
                              r"total generated tokens (\d+)")
FIXED_LENGTHS = re.compile(r"Fixed lengths: input (\d+), output (\d+) tokens per request")


def _rows() -> list[dict[str, str]]:
    return heldout_data.rows(CSV)


def _kind(row: dict[str, str]) -> str:
    return heldout_data.run_kind(row, (FULL_LOAD, FIXED))


def test_enums_units_and_held_out_marker():
    for r in _rows():
        heldout_data.check_open_engine_row(r, "eleventh")


def test_focus_decided_before_any_prediction():
    """The lead's focus: mixture-of-experts rows only, from at least 4 independent sources (id prefixes) with no
    source above 40 % of the rows, at least 12 fixed-load rows and full-load rows too; NVIDIA and AMD both present."""
    rows = _rows()
    assert 15 <= len(rows) <= 45
    assert all(r["moe_experts"] and int(r["moe_experts"]) > 1 for r in rows)
    per_source = heldout_data.rows_per_source(rows)
    assert len(per_source) >= 4
    assert max(per_source.values()) <= MAX_SHARE_OF_ONE_SOURCE * len(rows), per_source
    assert sum(_kind(r) == FIXED for r in rows) >= 12
    assert sum(_kind(r) == FULL_LOAD for r in rows) >= 1
    assert any(r["accelerator"] == "mi300x" for r in rows) and any(r["accelerator"] != "mi300x" for r in rows)


def test_run_kind_matches_micro_batch_and_prompt_counts():
    """Full-load rows: micro_batch blank and 500+ prompts. Fixed-load rows: micro_batch = the stated concurrency over
    the engine replicas (dp; every row here is one engine) and at least 4x as many prompts as the concurrency."""
    for r in _rows():
        conc, prompts = heldout_data.stated_load(r)
        if _kind(r) == FULL_LOAD:
            assert conc is None and not r["micro_batch"] and prompts >= MIN_FULL_LOAD_PROMPTS, r["id"]
            continue
        assert f"micro_batch = stated max concurrency {conc} per replica" in r["notes"], r["id"]
        assert int(r["micro_batch"]) * int(r["dp"]) == conc, r["id"]
        assert prompts >= MIN_PROMPTS_PER_SLOT * conc, r["id"]


def test_layout_markers_match_the_plan_columns():
    """TEP rows: experts split over the tensor-parallel ranks of one engine (ep = tp, dp 1); attention data-parallel
    rows: ep = tp = n_devices, dp 1; every other row has no ep (experts sharded by tensor parallelism, or not stated).
    One engine per row here: tp = n_devices."""
    for r in _rows():
        assert r["tp"] == r["n_devices"] and r["dp"] == "1" and r["pp"] == "1", r["id"]
        if TEP in r["notes"].split():
            assert r["ep"] == r["tp"], r["id"]
        elif ATTENTION_DP in r["notes"]:
            assert r["ep"] == r["tp"] == r["n_devices"], r["id"]
        else:
            assert not r["ep"], r["id"]


def test_values_and_lengths_follow_the_printed_run():
    """Each row says how its value and lengths were read: a printed result block (value = the printed output rate,
    lengths = the printed totals over the requests, derived), a printed duration (value = generated tokens over the
    duration, derived), or a table value with fixed per-request lengths (the lengths are the requested ones)."""
    for r in _rows():
        notes = r["notes"]
        printed, timed = heldout_data.PRINTED.search(notes), PRINTED_DURATION.search(notes)
        fixed = FIXED_LENGTHS.search(notes)
        assert sum(m is not None for m in (printed, timed, fixed)) == 1, r["id"]
        if printed:
            n, tin, tout, rate = printed.groups()
            assert float(r["value"]) == float(rate), r["id"]
        elif timed:
            duration, n, tin, tout = timed.groups()
            assert abs(float(r["value"]) - int(tout) / float(duration)) <= 0.005 + 1e-9, r["id"]
        else:
            assert (r["input_len"], r["output_len"]) == fixed.groups(), r["id"]
            continue
        assert "derived" in notes, r["id"]
        assert abs(float(r["input_len"]) - int(tin) / int(n)) <= 0.05 + 1e-9, r["id"]
        assert abs(float(r["output_len"]) - int(tout) / int(n)) <= 0.05 + 1e-9, r["id"]
        if _kind(r) == FIXED:
            assert int(n) == int(heldout_data.FIXED_RUN.search(notes).group(2)), r["id"]
        else:
            assert int(n) == int(heldout_data.FULL_RUN.search(notes).group(1)), r["id"]


def test_rows_are_in_range_and_in_the_catalog():
    """Every row publishes devices, the plan (tp, pp, dp using exactly the row's devices), precision and both lengths;
    its value is a physical generated-token rate; its accelerator (with a peak at the row's precision) is in the
    catalog; its model resolves to a catalog model of the row's shape, or the row carries the architecture."""
    for r in _rows():
        heldout_data.check_run_inputs(r)
        assert r["input_len"], r["id"]
        assert all(r[k] for k in heldout_data.MOE_COLUMNS), r["id"]
        heldout_data.check_catalog_row(r, MAX_TOKENS_PER_S_PER_DEVICE)


def test_read_by_the_validation_reader():
    """validate's own reader accepts the file (header order, numeric cells)."""
    assert len(val.read_rows(CSV)) == len(_rows())
