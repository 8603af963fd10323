"""Shape checks on validation/infer_heldout14.csv, the fourteenth serving hold-out (data only: no flopwatt prediction is
made on these rows, see validation/SPLIT_infer.md). Written in the shared schema as an outside party would write it
(as the sixth to thirteenth): new prefixes with no conventions entry, framework blank (vLLM and SGLang are not in
DATASET.md's list), the engine build and the exact commands in notes only.

Focus decided by the lead before any prediction: serving throughput of OPEN ENGINES (vLLM or SGLang, any release; no
TensorRT-LLM, no MLPerf submission, no NVIDIA NIM) on NVIDIA accelerators of DATASET.md's enum (SXM parts only, no PCIe
card), in runs whose configuration is complete (model with a stateable architecture, devices and tp, precision, input
and output lengths fixed by the command or means from printed totals, the load, the engine release or a dated
commit/image, an output-token rate printed or following unambiguously from printed figures), of one of three run
kinds: FIXED LOAD (a stated max concurrency C with at least 2x C prompts, ``micro_batch`` = C per engine replica),
BATCH/OFFLINE (one batch of B prompts, ``micro_batch`` = B, or an offline run over P prompts, ``micro_batch`` blank) or
FULL LOAD (300+ prompts sent at once, ``micro_batch`` blank); 15-40 rows from at least 3 independent sources, none above
40 %, on at least 2 NVIDIA accelerator types.

As collected, one part of that focus is NOT fully met (validation/DATASET_infer.md and SPLIT_infer.md say why): the 7
one-batch rows of one source (OE14L) come from a `pip install vllm` whose release is not printed; they carry the
install's date and the API range of the script only. test_focus_shortfall_is_the_recorded_one pins that count and the
file's coverage, so that the file cannot drift away from what the documents report. Ids, prefixes, repeated
measurements and conventions are checked for every hold-out in tests/test_heldout_files.py."""

from __future__ import annotations

import re

import heldout_data
from flopwatt import validate as val
from heldout_data import FIXED, FULL_LOAD, ROOT

CSV = ROOT / "validation" / "infer_heldout14.csv"
MIN_ROWS, MAX_ROWS = 15, 40  # the focus: 15 to 40 rows
MIN_SOURCES = 3  # the focus: at least 3 independent sources (id prefixes)
MAX_SHARE_OF_ONE_SOURCE = 0.4  # the focus: no source above 40 % of the rows
MIN_ACCELERATOR_TYPES = 2  # the focus: at least 2 NVIDIA accelerator types
UNPRINTED_RELEASE_ROWS_AS_COLLECTED = 7  # rows whose engine is a dated pip install without a printed release
MAX_TOKENS_PER_S_PER_DEVICE = 20000  # range check only
NVIDIA_SXM = {"a100-sxm4-40gb", "a100-sxm4-80gb", "h100-sxm5-80gb", "h800-sxm5-80gb", "h200-sxm-141gb",
              "b200-sxm-180gb", "gb200", "v100-sxm2-32gb"}
"""DATASET.md's NVIDIA accelerators (the focus's enum; no PCIe card is among them)."""
SCENARIOS = {"max_load", "offline"}
ENGINE = re.compile(r"^Engine (vLLM v\d+\.\d+\.\d+ |SGLang v?\d+\.\d+\.\d+(\.post\d+)? "
                    r"|vLLM, pip release NOT printed: a dated install)")
UNPRINTED_RELEASE = "pip release NOT printed"


def _rows() -> list[dict[str, str]]:
    return heldout_data.rows(CSV)


def test_enums_units_and_held_out_marker():
    """Shared-schema serving rows of engines outside DATASET.md's list: blank framework, generated tokens/s, an NVIDIA
    SXM accelerator of the enum, a source and network, the fourteenth hold-out's marker."""
    for r in _rows():
        heldout_data.check_open_engine_row(r, "fourteenth", tuple(SCENARIOS))
        assert r["accelerator"] in NVIDIA_SXM and "PCIe" not in r["network"], r["id"]


def test_every_row_is_an_open_engine_with_its_build():
    """Open engines only (no TensorRT-LLM, no MLPerf harness, no NIM): the notes open with the engine and its release,
    or with the dated install whose release is not printed."""
    for r in _rows():
        assert ENGINE.match(r["notes"]), r["id"]
        assert "MLPerf" not in r["source"] and "NIM" not in r["notes"], r["id"]
        assert "trtllm" not in r["notes"] and "TensorRT" not in r["notes"], r["id"]


def test_focus_decided_before_any_prediction():
    """15-40 rows from at least 3 sources, none above 40 %, on at least 2 NVIDIA accelerator types."""
    rows = _rows()
    heldout_data.check_source_shares(rows, (MIN_ROWS, MAX_ROWS), MIN_SOURCES, MAX_SHARE_OF_ONE_SOURCE)
    assert len({r["accelerator"] for r in rows}) >= MIN_ACCELERATOR_TYPES


def test_focus_shortfall_is_the_recorded_one():
    """Where the file falls short of the focus it does so by exactly what DATASET_infer.md and SPLIT_infer.md report:
    7 one-batch rows of one source name a dated pip install, not a release; and the file's coverage is what they report
    (vLLM and SGLang rows on A100 SXM4 80GB, H100 SXM5 and B200)."""
    rows = _rows()
    unprinted = [r["id"] for r in rows if UNPRINTED_RELEASE in r["notes"]]
    assert len(unprinted) == UNPRINTED_RELEASE_ROWS_AS_COLLECTED, unprinted
    assert {heldout_data.source_prefix(r) for r in rows if r["id"] in unprinted} == {"OE14L"}
    assert all(r["scenario"] == "offline" for r in rows if r["id"] in unprinted)
    assert {r["accelerator"] for r in rows} == {"a100-sxm4-80gb", "h100-sxm5-80gb", "b200-sxm-180gb"}
    assert {r["notes"].split()[1].rstrip(",") for r in rows} == {"vLLM", "SGLang"}


def test_run_kind_matches_micro_batch_scenario_and_prompt_counts():
    """Fixed load: ``max_load``, micro_batch = the stated concurrency over the engine replicas (every row is one
    engine) and at least 2x as many prompts. One batch of B prompts: ``offline`` and micro_batch = B. A full load:
    ``max_load``, micro_batch blank and 300+ prompts at once."""
    for r in _rows():
        heldout_data.check_run_kind(r)


def test_output_lengths_are_said_fixed_or_sampled():
    """Every row says whether its output lengths are fixed (ignore_eos with a fixed length: both lengths are whole
    numbers) or sampled (the means come from the printed totals)."""
    heldout_data.check_lengths_said_fixed_or_sampled(_rows())


def test_layout_matches_the_launch_flags():
    """One engine per row (dp 1, pp 1, tp = n_devices, experts split by tp: ep blank), the tensor-parallel degree in
    the command."""
    for r in _rows():
        tp = r["tp"]
        assert tp == r["n_devices"] and r["dp"] == "1" and r["pp"] == "1", r["id"]
        assert tp == "1" or any(flag in r["notes"] for flag in (
            f"--tensor-parallel-size={tp}", f"-tp {tp}`", f"--tp {tp}`")), r["id"]
        assert not r["ep"], r["id"]


def test_values_follow_the_printed_figures():
    """Fixed and full load: value = the printed output-token rate, lengths = the printed totals over the requests, all
    prompts succeeded. One batch: value = B x output length / the recorded batch latency, and the recorded total-token
    rate is B x (input + output) / latency."""
    for r in _rows():
        assert "derived" in r["notes"], r["id"]
        if heldout_data.open_engine_kind(r) in (FIXED, FULL_LOAD):
            heldout_data.check_printed_rate(r, length_tolerance=0.05)
            continue
        heldout_data.check_recorded_batch(r)


def test_rows_are_in_range_and_in_the_catalog():
    """Every row publishes devices, the plan (tp, pp, dp using exactly the row's devices), precision and both lengths;
    its value is a physical generated-token rate; its accelerator (with a peak at the row's precision) is in the
    catalog; its model resolves to a catalog model of the row's shape (the row carries the architecture too)."""
    heldout_data.check_rows_in_range_and_catalog(_rows(), MAX_TOKENS_PER_S_PER_DEVICE)


def test_read_by_the_validation_reader():
    """validate's own reader accepts the file (header order, numeric cells)."""
    assert len(val.read_rows(CSV)) == len(_rows())
