"""Rows of sources validate's conventions table does not know, written as shared/reference/DATASET.md writes
them (framework blank outside its enum): they stand on their typed columns and stated rules, never refused for
want of a convention (README, 'Assumptions'; validate/serving.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from flopwatt.validate import conventions as conv
from flopwatt.validate import read_rows, validate

ROOT = Path(__file__).resolve().parents[1]
ENUM = {"tensorrt-llm", "mlperf-nvidia"}  # DATASET.md's serving frameworks; any other is written blank
EVALUATED = ["validation/infer_heldout.csv", "validation/infer_heldout2.csv", "validation/infer_heldout3.csv",
             "validation/infer_heldout4.csv", "bench/data/mlperf_inference_v5.csv"]


def _as_unknown_source(row: dict[str, str]) -> dict[str, str]:
    return {**row, "id": f"ZZQ-{row['id']}", "framework": row["framework"] if row["framework"] in ENUM else ""}


def test_evaluated_serving_rows_rewritten_as_an_unknown_source_are_all_predicted():
    """Every already-evaluated serving row that publishes an output length is predicted under a prefix no
    convention knows; the rows left are disaggregated phase rows, which need a convention's phase."""
    rows = [_as_unknown_source(r) for path in EVALUATED for r in read_rows(ROOT / path)]
    assert not any(conv.known(r["id"]) for r in rows)
    report = validate(rows)
    skipped = {s["id"]: s["reason"] for s in report["summary"]["skipped"]}
    without_output = {r["id"] for r in rows if not r["output_len"].strip()}
    assert set(skipped) == without_output, skipped
    assert all("output length not published" in why for why in skipped.values())


def test_the_sixth_hold_out_in_the_shared_schema_is_covered():
    """validation/infer_heldout6.csv (unknown prefixes, DATASET.md frameworks): every row predicted. Coverage
    only: its accuracy is reported once in validation/SPLIT_infer.md and VALIDATION.md, never tested."""
    rows = read_rows(ROOT / "validation" / "infer_heldout6.csv")
    report = validate(rows)
    assert report["summary"]["skipped"] == []
    assert report["summary"]["coverage"] == pytest.approx(1.0)


def _open_engine_row(**cells: str) -> dict[str, str]:
    """A vLLM-style row as an outside party writes it: Llama 3.1 70B on 8 H100, framework blank."""
    row = dict.fromkeys(read_rows(ROOT / "validation" / "visible.csv")[0], "")
    row.update(id="ZZL-01", kind="infer", source="test", model="Llama 3.1 70B Instruct", accelerator="h100-sxm5-80gb",
               n_devices="8", tp="8", precision="fp8", input_len="1000", output_len="1000", scenario="max_load",
               metric="output_tokens_per_s", value="5000", unit="tokens/s")
    row.update(cells)
    return row


def test_a_serving_rows_micro_batch_holds_the_load_of_each_replica():
    """DATASET.md's micro_batch on a serving row (sequences per replica, a fixed-concurrency run's load) bounds the
    searched batch, and the row says so; blank leaves the engine's own limit (full load)."""
    loaded, full = (validate([_open_engine_row(micro_batch=m)])["rows"][0] for m in ("64", ""))
    assert loaded["plan"]["batch_per_replica"] == 64 and full["plan"]["batch_per_replica"] > 64
    assert loaded["predicted"] < full["predicted"]
    assert any("published micro_batch 64" in n for n in loaded["assumptions"])
    assert not any("micro_batch" in n for n in full["assumptions"])


def test_a_row_whose_columns_give_no_whole_head_size_is_skipped_with_the_reason_not_fatal():
    """DATASET.md: head size is hidden / heads; a model whose heads do not divide its width (GLM-4.6: 5120 / 96)
    cannot be built from the columns. The row is skipped and named; the other rows are still predicted."""
    odd = _open_engine_row(id="ZZL-02", model="Some MoE 355B", params_b="355", layers="92", hidden="5120",
                           ffn_hidden="12288", heads="96", kv_heads="8", vocab="151552", tp="8")
    report = validate([_open_engine_row(), odd])
    assert [r["id"] for r in report["rows"]] == ["ZZL-01"]
    (skip,) = report["summary"]["skipped"]
    assert skip["id"] == "ZZL-02" and "head size" in skip["reason"]


def test_a_published_degree_the_model_cannot_run_is_a_skip_with_the_reason():
    """tp 3 does not divide Llama 3.1 70B's 64 heads: that row is skipped, named, and the file's other rows are
    still predicted (one row must not end the run)."""
    report = validate([_open_engine_row(), _open_engine_row(id="ZZL-03", tp="3")])
    assert [r["id"] for r in report["rows"]] == ["ZZL-01"]
    (skip,) = report["summary"]["skipped"]
    assert skip["id"] == "ZZL-03" and skip["reason"].startswith("published tp 3 cannot be run")


def test_model_columns_that_make_no_consistent_model_skip_the_row():
    report = validate([_open_engine_row(), _open_engine_row(id="ZZL-04", kv_heads="3")])
    assert [r["id"] for r in report["rows"]] == ["ZZL-01"]
    (skip,) = report["summary"]["skipped"]
    assert skip["id"] == "ZZL-04" and "not a consistent model" in skip["reason"] and "kv_heads" in skip["reason"]


def test_a_moe_row_on_fewer_devices_than_its_tp_is_skipped_not_a_crash():
    """tp 8 on 3 devices of an MLA model leaves no plan; the empty batch of plans must not reach a reduction."""
    row = _open_engine_row(id="ZZL-05", model="DeepSeek-R1-0528", accelerator="h200-sxm-141gb", n_devices="3",
                           tp="8", moe_experts="256", moe_topk="8")
    (skip,) = validate([row])["summary"]["skipped"]
    assert "no feasible serving plan" in skip["reason"]


def test_an_output_above_its_request_sets_cap_skips_instead_of_ending_the_run():
    """A blank prompt length takes the model's one request set; an output longer than that benchmark's cap says the
    row is not that benchmark: skipped with the reason."""
    row = _open_engine_row(id="ZZL-06", model="Llama 2 70B", input_len="", output_len="2000")
    (skip,) = validate([row])["summary"]["skipped"]
    assert "generation cap" in skip["reason"]


def test_a_max_load_row_is_a_run_of_the_engine_clients_default_prompts():
    """DATASET.md's max_load (unbounded request rate) is a finite run sent at once: with no prompt count in the
    schema, the default engine's benchmark client default (1000, engines.toml benchmark_prompts) is taken and
    said; fixed lengths at the row's means leave only the last, part-full wave below the steady state. A server
    row keeps the steady state."""
    row = validate([_open_engine_row(micro_batch="64")])["rows"][0]
    assert any("a benchmark run of 1000 prompts sent at once" in n for n in row["assumptions"])
    waves = 1000 / 64  # 15 full waves of 64, then 40 sequences
    steady = validate([_open_engine_row(micro_batch="64", scenario="server")])["rows"][0]
    assert not any("benchmark run" in n for n in steady["assumptions"])
    assert row["predicted"] < steady["predicted"]
    assert row["predicted"] > steady["predicted"] * waves / np.ceil(waves)
