"""Shape checks on validation/infer_heldout16.csv, the sixteenth serving hold-out (data only: no flopwatt prediction is
made on these rows, see validation/SPLIT_infer.md). Written in the shared schema as an outside party would write it
(as the sixth to fifteenth): new prefixes with no conventions entry, framework blank (vLLM and SGLang are not in
DATASET.md's list), the engine build and the exact commands in notes only.

Focus decided by the lead before any prediction: serving throughput of OPEN ENGINES (vLLM or SGLang, any release; no
TensorRT-LLM, no MLPerf submission, no NIM) on accelerators the catalog holds (NVIDIA SXM parts of DATASET.md's enum;
AMD MI300X, and MI325X/MI355X by their catalog ids), in runs whose configuration is complete (a model whose
architecture the columns state, devices and tp (ep/dp if used), precision, input and output lengths fixed by the command
or means from printed totals, the load, the engine release or a dated commit/image, an output-token rate printed or
following unambiguously from printed figures), of one of three run kinds: FIXED LOAD (a stated max concurrency C with at
least 2x C prompts, ``micro_batch`` = C per engine replica, ``scenario`` max_load), BATCH/OFFLINE (one batch of B
prompts,
``micro_batch`` = B, ``scenario`` offline) or FULL LOAD (300+ prompts sent at once, ``micro_batch`` blank, ``scenario``
max_load); 15-40 rows from at least 3 sources, none above 40 %, at least 2 accelerator types, at least 5 rows with 64 or
more sequences in flight (C >= 64, B >= 64 or a full load) and at least 5 with 16 or fewer.

test_coverage_is_the_recorded_one pins what the file holds (accelerators, engines, sources, bands), so that it cannot
drift away from what validation/DATASET_infer.md and SPLIT_infer.md report. Ids, prefixes, repeated measurements and
conventions are checked for every hold-out in tests/test_heldout_files.py."""

from __future__ import annotations

import re

import heldout_data
from flopwatt import catalog
from flopwatt import validate as val
from heldout_data import BATCH, FIXED, FULL_LOAD, ROOT

CSV = ROOT / "validation" / "infer_heldout16.csv"
MIN_ROWS, MAX_ROWS = 15, 40  # the focus: 15 to 40 rows
MIN_SOURCES = 3  # the focus: at least 3 independent sources (id prefixes)
MAX_SHARE_OF_ONE_SOURCE = 0.4  # the focus: no source above 40 % of the rows
MIN_ACCELERATOR_TYPES = 2  # the focus: at least 2 accelerator types
HIGH_IN_FLIGHT, LOW_IN_FLIGHT = 64, 16  # the focus's bands: 64 or more in flight, 16 or fewer
MIN_ROWS_PER_BAND = 5  # the focus: at least 5 rows in each of those two bands
MAX_TOKENS_PER_S_PER_DEVICE = 20000  # range check only
ACCELERATORS = {"a100-sxm4-40gb", "a100-sxm4-80gb", "h100-sxm5-80gb", "h800-sxm5-80gb", "h200-sxm-141gb",
                "b200-sxm-180gb", "gb200", "mi300x", "mi325x", "mi355x"}
"""The focus's accelerators: DATASET.md's NVIDIA SXM parts, MI300X, and MI325X/MI355X by their catalog ids."""
SCENARIOS = {"max_load", "offline"}
ENGINE = re.compile(r"^Engine (vLLM|SGLang) v?\d+\.\d+\.\d+(\.post\d+)? ")
AS_COLLECTED = {"OE16C": 8, "OE16G": 9, "OE16L": 7}  # rows per source, as DATASET_infer.md reports them
GLM_46_SHAPE_FROM = "GLM-4.5"  # the OE16G rows carry GLM-4.5's catalog shape (assumed, stated in their notes)


def _rows() -> list[dict[str, str]]:
    return heldout_data.rows(CSV)


def _in_flight(row: dict[str, str]) -> int | None:
    """Sequences in flight the run states: the concurrency of a fixed load, the batch of a one-batch run, None for
    a full
    load (every prompt sent at once)."""
    kind = heldout_data.open_engine_kind(row)
    if kind == FIXED:
        return heldout_data.stated_load(row)[0]
    if kind == BATCH:
        return int(heldout_data.BATCH_RUN.search(row["notes"]).group(1))
    return None


def test_enums_units_and_held_out_marker():
    """Shared-schema serving rows of engines outside DATASET.md's list: blank framework, generated tokens/s, an
    accelerator of the focus, a source and network, the sixteenth hold-out's marker."""
    for r in _rows():
        assert r["accelerator"] in ACCELERATORS and "PCIe" not in r["network"], r["id"]
        assert r["kind"] == "infer" and r["unit"] == "tokens/s", r["id"]
        assert r["framework"] == "" and r["metric"] == "output_tokens_per_s", r["id"]
        assert r["scenario"] in SCENARIOS and r["source"] and r["network"], r["id"]
        assert "HELD OUT" in r["notes"] and "sixteenth hold-out" in r["notes"], r["id"]


def test_every_row_is_an_open_engine_with_its_release():
    """Open engines only (no TensorRT-LLM, no MLPerf harness, no NIM): the notes open with the engine and its
    release."""
    for r in _rows():
        assert ENGINE.match(r["notes"]), r["id"]
        assert "MLPerf" not in r["source"] and "NIM" not in r["notes"], r["id"]
        assert "trtllm" not in r["notes"] and "TensorRT" not in r["notes"], r["id"]


def test_focus_decided_before_any_prediction():
    """15-40 rows from at least 3 sources, none above 40 %, on at least 2 accelerator types; at least 5 rows with 64 or
    more sequences in flight (a full load counts) and at least 5 with 16 or fewer."""
    rows = _rows()
    heldout_data.check_source_shares(rows, (MIN_ROWS, MAX_ROWS), MIN_SOURCES, MAX_SHARE_OF_ONE_SOURCE)
    assert len({r["accelerator"] for r in rows}) >= MIN_ACCELERATOR_TYPES
    loads = [_in_flight(r) for r in rows]
    assert sum(1 for n in loads if n is None or n >= HIGH_IN_FLIGHT) >= MIN_ROWS_PER_BAND
    assert sum(1 for n in loads if n is not None and n <= LOW_IN_FLIGHT) >= MIN_ROWS_PER_BAND


def test_coverage_is_the_recorded_one():
    """The file holds what DATASET_infer.md and SPLIT_infer.md report: SGLang cookbook fixed loads at concurrency 1
    and 16
    on MI300X, GPUStack full loads (and one concurrency-4 run) of GLM-4.6 on H100 SXM and H200 SXM, LLM-Inference-Bench
    one-batch runs on MI300X; vLLM and SGLang."""
    rows = _rows()
    assert heldout_data.rows_per_source(rows) == AS_COLLECTED
    assert {r["accelerator"] for r in rows} == {"mi300x", "h100-sxm5-80gb", "h200-sxm-141gb"}
    assert {r["notes"].split()[1] for r in rows} == {"vLLM", "SGLang"}
    by_source = {}
    for r in rows:
        kind = heldout_data.open_engine_kind(r)
        by_source.setdefault(heldout_data.source_prefix(r), set()).add((kind, _in_flight(r)))
    assert by_source["OE16C"] == {(FIXED, 1), (FIXED, 16)}
    assert by_source["OE16G"] == {(FULL_LOAD, None), (FIXED, 4)}
    assert by_source["OE16L"] == {(BATCH, 1), (BATCH, 16), (BATCH, 64)}


def test_run_kind_matches_micro_batch_scenario_and_prompt_counts():
    """Fixed load: ``max_load``, micro_batch = the stated concurrency over the engine replicas (every row is one engine)
    and at least 2x as many prompts. One batch of B prompts: ``offline`` and micro_batch = B. A full load: ``max_load``,
    micro_batch blank and 300+ prompts at once."""
    for r in _rows():
        kind, prompts = heldout_data.check_run_kind(r)
        if kind == FULL_LOAD:
            assert f"'Peak concurrent requests: {prompts}.00'" in r["notes"], r["id"]


def test_output_lengths_are_said_fixed_or_sampled():
    """Every row says whether its output lengths are fixed (ignore_eos with a fixed length: both lengths are whole
    numbers) or sampled (the means come from the printed totals)."""
    heldout_data.check_lengths_said_fixed_or_sampled(_rows())


def test_layout_matches_the_launch_flags():
    """One engine per row (dp 1, pp 1, tp = n_devices), the tensor-parallel degree in the command; expert parallelism
    only where the server command passes it (ep inside the tp group), blank otherwise."""
    for r in _rows():
        tp = r["tp"]
        assert tp == r["n_devices"] and r["dp"] == "1" and r["pp"] == "1", r["id"]
        assert tp == "1" or any(flag in r["notes"] for flag in (
            f"--tp {tp}", f"-tp {tp}`", f"-tp {tp} ", f"--tp-size {tp}", f"tensor_parallel_size={tp}")), r["id"]
        if r["ep"]:
            assert f"--ep {r['ep']}" in r["notes"] or f"--ep-size {r['ep']}" in r["notes"], r["id"]
            assert int(tp) % int(r["ep"]) == 0, r["id"]
        else:
            assert "--ep" not in r["notes"], r["id"]
            assert not r["moe_experts"] or "ep blank" in r["notes"], r["id"]


def test_values_follow_the_printed_figures():
    """Fixed and full load: value = the printed output-token rate, lengths = the printed totals over the requests, all
    prompts succeeded. One batch: value = B x output length / the recorded batch latency, and the recorded total-token
    rate is B x (input + output) / latency."""
    for r in _rows():
        n_in = float(r["input_len"])
        assert "derived" in r["notes"], r["id"]
        if heldout_data.open_engine_kind(r) in (FIXED, FULL_LOAD):
            heldout_data.check_printed_rate(r, length_tolerance=0.005)
            continue
        batch, latency = heldout_data.check_recorded_batch(r)
        assert f",{r['n_devices']},vLLM," in r["source"] and f",{int(n_in)},{batch},{latency}," in r["source"], r["id"]


def test_rows_are_in_range_and_in_the_catalog():
    """Every row publishes devices, the plan (tp, pp, dp using exactly the row's devices), precision and both lengths;
    its value is a physical generated-token rate; its accelerator (with a peak at the row's precision) is in the
    catalog; a model name that resolves names a catalog model of the row's shape (the row carries the architecture)."""
    heldout_data.check_rows_in_range_and_catalog(_rows(), MAX_TOKENS_PER_S_PER_DEVICE)


def test_glm_46_rows_carry_the_stated_glm_45_shape():
    """The OE16G rows carry GLM-4.5's catalog shape, as their notes state. As collected GLM-4.6 resolved to no catalog
    model; the catalog's glm-4.6 (added before the evaluation, SPLIT_infer.md) has that same shape."""
    glm = catalog.model_by_name(GLM_46_SHAPE_FROM)
    for r in _rows():
        if r["model"] != "GLM-4.6":
            continue
        resolved = catalog.model_by_name(r["model"])
        assert resolved is not None and resolved.id == "glm-4.6", r["id"]
        assert (resolved.layers, resolved.hidden, resolved.moe) == (glm.layers, glm.hidden, glm.moe), r["id"]
        assert "assumed: GLM-4.6 keeps GLM-4.5's shape" in r["notes"], r["id"]
        assert (int(r["layers"]), int(r["hidden"]), int(r["ffn_hidden"]), int(r["heads"]), int(r["kv_heads"]),
                int(r["vocab"])) == (glm.layers, glm.hidden, glm.ffn_hidden, glm.heads, glm.kv_heads,
                                     glm.vocab), r["id"]
        assert (int(r["moe_experts"]), int(r["moe_topk"]), int(r["moe_ffn_hidden"]), int(r["moe_shared_experts"])) == (
            glm.moe.experts, glm.moe.topk, glm.moe.ffn_hidden, glm.moe.shared_experts), r["id"]


def test_read_by_the_validation_reader():
    """validate's own reader accepts the file (header order, numeric cells)."""
    assert len(val.read_rows(CSV)) == len(_rows())
