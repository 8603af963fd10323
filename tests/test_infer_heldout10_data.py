"""Shape checks on validation/infer_heldout10.csv, the tenth serving hold-out (data only: no flopwatt prediction is
made on these rows, see validation/SPLIT_infer.md). Written in the shared schema as an outside party would write it
(as the sixth to ninth): new prefixes with no conventions entry, framework blank (vLLM, SGLang: engines not in
DATASET.md's list), the engine release and the exact commands in notes only. Focus decided by the lead before any
prediction: open engines (vLLM, SGLang) on dense and mixture-of-experts models in two kinds of run, FULL LOAD (all of
500+ prompts sent at once) and FIXED CONCURRENCY (a stated number of requests in flight, at least 4x that many prompts,
``micro_batch`` = the concurrency per engine replica), with attention tensor-parallel + expert-parallel ("TEP") MoE
runs especially wanted. Ids, prefixes, repeated measurements and conventions are checked for every hold-out in
tests/test_heldout_files.py."""

from __future__ import annotations

import re

import heldout_data
from flopwatt import validate as val
from heldout_data import ROOT

CSV = ROOT / "validation" / "infer_heldout10.csv"
FULL_LOAD = "FULL LOAD"
FIXED = "FIXED CONCURRENCY"
TEP = "TEP (attention tensor-parallel, experts expert-parallel inside the TP group)"
ATTENTION_DP = "ATTENTION DATA-PARALLEL"
MIN_FULL_LOAD_PROMPTS = 500  # the focus: full-load runs send at least this many prompts at once
MIN_PROMPTS_PER_SLOT = 4  # the focus: fixed-concurrency runs send at least 4x the concurrency
MAX_TOKENS_PER_S_PER_DEVICE = 20000  # range check only: the largest row is ~16,700 generated tokens/s per GPU


def _rows() -> list[dict[str, str]]:
    return heldout_data.rows(CSV)


def _kind(row: dict[str, str]) -> str:
    return heldout_data.run_kind(row, (FULL_LOAD, FIXED))


def _printed(row: dict[str, str]) -> tuple[int, int, int, float]:
    """(requests, total input tokens, total generated tokens, output tokens/s) as the row's notes quote the run."""
    found = heldout_data.PRINTED.search(row["notes"])
    assert found, row["id"]
    n, tin, tout, rate = found.groups()
    return int(n), int(tin), int(tout), float(rate)


def test_enums_units_and_held_out_marker():
    for r in _rows():
        heldout_data.check_open_engine_row(r, "tenth")


def test_focus_decided_before_any_prediction():
    """The lead's focus: 30-45 rows from several sources, at least 10 fixed-concurrency rows and 10 MoE rows, dense
    rows too, at least 4 independent sources (id prefixes) and the TEP layout present."""
    rows = _rows()
    assert 30 <= len(rows) <= 45
    assert len({r["id"].rsplit("-", 1)[0] for r in rows}) >= 4
    assert sum(_kind(r) == FIXED for r in rows) >= 10
    assert sum(bool(r["moe_experts"]) for r in rows) >= 10
    assert sum(not r["moe_experts"] for r in rows) >= 5
    assert sum(TEP in r["notes"] for r in rows) >= 2


def _data_parallel_ranks(row: dict[str, str]) -> int:
    """Schedulers the requests are spread over: the dp engine replicas, times the tp ranks where attention runs
    data-parallel inside one engine (each such rank schedules its own sequences)."""
    return int(row["dp"]) * (int(row["tp"]) if ATTENTION_DP in row["notes"] else 1)


def test_run_kind_matches_micro_batch_and_prompt_counts():
    """Full-load rows: micro_batch blank and 500+ prompts. Fixed-concurrency rows: micro_batch = the stated
    concurrency over the data-parallel ranks that share it, and at least 4x as many prompts as the concurrency."""
    for r in _rows():
        prompts = _printed(r)[0]
        if _kind(r) == FULL_LOAD:
            assert not r["micro_batch"] and prompts >= MIN_FULL_LOAD_PROMPTS, r["id"]
            continue
        conc = int(re.search(r"max concurrency (\d+)\)", r["notes"]).group(1))
        ranks = _data_parallel_ranks(r)
        per_rank = "per replica"
        if ranks > 1:
            per_rank = f"over {ranks} attention data-parallel ranks = {conc // ranks} per rank"
        assert f"micro_batch = stated max concurrency {conc} {per_rank}" in r["notes"], r["id"]
        assert int(r["micro_batch"]) * ranks == conc, r["id"]
        assert prompts >= MIN_PROMPTS_PER_SLOT * conc, r["id"]


def test_layout_markers_match_the_plan_columns():
    """TEP rows: one engine whose experts are split over its tensor-parallel ranks (ep = tp, dp 1); attention
    data-parallel rows: one engine whose attention runs data-parallel and whose experts are split over all its ranks
    (ep = tp = n_devices, dp 1); every other row has no ep (experts sharded by tensor parallelism, or dense)."""
    for r in _rows():
        assert not (TEP in r["notes"] and ATTENTION_DP in r["notes"]), r["id"]
        if TEP in r["notes"]:
            assert r["moe_experts"] and r["ep"] == r["tp"] and r["dp"] == "1", r["id"]
        elif ATTENTION_DP in r["notes"]:
            assert r["moe_experts"] and r["ep"] == r["tp"] == r["n_devices"] and r["dp"] == "1", r["id"]
        else:
            assert not r["ep"], r["id"]


def test_values_and_mean_lengths_are_the_printed_run():
    """value is the printed output-token rate; input_len and output_len are the printed totals over the requests
    (derived, 0.1 token rounding)."""
    for r in _rows():
        n, tin, tout, rate = _printed(r)
        assert float(r["value"]) == rate and "derived" in r["notes"], r["id"]
        assert abs(float(r["input_len"]) - tin / n) <= 0.05 + 1e-9, r["id"]
        assert abs(float(r["output_len"]) - tout / n) <= 0.05 + 1e-9, r["id"]


def test_rows_are_in_range_and_in_the_catalog():
    """Every row publishes devices, the plan (tp, pp, dp using exactly the row's devices), precision and both mean
    lengths; its value is a physical generated-token rate; its accelerator (with a peak at the row's precision) is in
    the catalog; its model resolves to a catalog model of the row's shape, or the row carries the architecture."""
    heldout_data.check_rows_in_range_and_catalog(_rows(), MAX_TOKENS_PER_S_PER_DEVICE)


def test_read_by_the_validation_reader():
    """validate's own reader accepts the file (header order, numeric cells)."""
    assert len(val.read_rows(CSV)) == len(_rows())
