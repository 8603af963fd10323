"""AMD MLPerf v5.0 engine profiles (catalog/engines.toml): each field traced to its source, and the rule that
routes AMD-submitted MLPerf v5.0 rows to them (conventions.toml ``engine``, framework ``mlperf-amd``).

Only labels and profiles are checked here: no prediction is made on the held-out v5.0 rows
(validation/SPLIT_infer.md); ``python bench/mlperf_rounds.py`` reports their errors.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from flopwatt.catalog import engine_profiles as engine_catalog
from flopwatt.validate import FRAMEWORKS
from flopwatt.validate import conventions as conv

V5_ROWS = Path(__file__).resolve().parents[1] / "bench" / "data" / "mlperf_inference_v5.csv"
AMD_V5 = {"MLPI5-07": "mlperf-amd-v5.0-llama2-70b-mi325x-offline", "MLPI5-08": "mlperf-amd-v5.0",
          "MLPI5-09": "mlperf-mangoboost-v5.0-llama2-70b-mi300x",
          "MLPI5-10": "mlperf-mangoboost-v5.0-llama2-70b-mi300x"}


def _v5_rows() -> dict[str, dict[str, str]]:
    with V5_ROWS.open(encoding="utf-8") as handle:
        return {row["id"]: row for row in csv.DictReader(handle)}


def test_amd_v50_release_profile_carries_what_the_submission_documents():
    """vLLM 0.6.5.dev964+mlperf50 on ROCm 6.3.1 (results README), V0 scheduler: a step is a prefill or a decode
    (blog 'Scheduler changes'), multi-step scheduling without overlap, paged KV taken on demand."""
    p = engine_catalog.get("mlperf-amd-v5.0")
    assert p.engine == "vllm" and "0.6.5.dev964+mlperf50" in p.release
    assert "vLLM 0.6.5.dev964+mlperf50" in p.source and "ROCm 6.3.1" in p.source
    assert p.kv_allocation == "on-demand" and "on demand" in p.source
    assert p.chunked_prefill is False and "whether to perform a prefill or a decode" in p.source
    assert p.schedule_overlap is False and "multi-step scheduling" in p.source
    # the round's per-benchmark yaml was not readable: no limits, graphs or kernel claimed
    assert p.max_num_tokens is None and p.max_batch_size is None and p.cuda_graphs is None
    assert p.attention_kernel is None and p.id not in engine_catalog.DEPLOYMENTS


def test_amd_v50_mi325x_offline_limits_are_the_blogs_and_the_estimate_is_marked():
    p = engine_catalog.get("mlperf-amd-v5.0-llama2-70b-mi325x-offline")
    assert p.max_batch_size == 2048 and p.max_num_tokens == 65536
    assert "65K for prefill and 2048 for decode" in p.source
    assert "ESTIMATE" in p.notes and "65536" in p.notes  # 65K read as the v5.1 config's 65536
    assert p.id in engine_catalog.DEPLOYMENTS
    s = engine_catalog.settings(p)
    assert s.prefill_alone and not s.kv_reserve and s.prefill_chunk_tokens is None
    assert s.max_batch == 2048 and s.max_tokens_per_iteration == 65536


def test_mangoboost_v50_profile_takes_only_its_launch_scripts():
    p = engine_catalog.get("mlperf-mangoboost-v5.0-llama2-70b-mi300x")
    assert p.max_batch_size == 768 and "-max_num_seqs 768" in p.source and "-tp 1 -dp 8" in p.source
    assert p.engine == "vllm" and "Dockerfile.vllm" in p.source and p.kv_allocation == "on-demand"
    # LLMBoost's scheduler is not published: these stay unknown
    assert p.max_num_tokens is None and p.chunked_prefill is None and p.schedule_overlap is None
    s = engine_catalog.settings(p)
    assert not s.prefill_alone and s.max_batch == 768 and s.max_tokens_per_iteration is None
    assert p.id in engine_catalog.DEPLOYMENTS


def test_adding_the_v50_release_leaves_the_vllm_family_rule_unchanged():
    """family('vllm') is what a vLLM row without a profiled release gets; the new release agrees with it. Schedule
    overlap: vLLM 0.14.0 and 0.34.0 turn async scheduling on by default, earlier releases leave it off, so the family
    leaves it unknown, which settings() treats as not hidden, as before."""
    fam = engine_catalog.family("vllm")
    v50 = engine_catalog.get("mlperf-amd-v5.0")
    assert "mlperf-amd-v5.0" in fam.source
    assert fam.kv_allocation == v50.kv_allocation == "on-demand" and fam.schedule_overlap is None
    assert not engine_catalog.settings(fam).overhead_hidden
    assert fam.chunked_prefill is None  # releases disagree (V0 off, V1 on)


@pytest.mark.parametrize(("row_id", "profile_id"), sorted(AMD_V5.items()))
def test_amd_submitted_v50_rows_run_an_amd_profile(row_id, profile_id):
    """The rule: an MLPerf v5.0 row of an AMD GPU runs AMD's (or MangoBoost's) vLLM-based harness, never
    NVIDIA's TensorRT-LLM harness profile."""
    row = _v5_rows()[row_id]
    assert row["accelerator"].startswith("mi3") and row["framework"] == "mlperf-amd"
    convention = conv.for_row(row_id)
    assert convention.engine == profile_id and not convention.run_sets_batch_limits
    assert engine_catalog.get(profile_id).engine == FRAMEWORKS[row["framework"]] == "vllm"
    assert convention.max_output_tokens == 1024 and convention.suite == "mlperf-inference"  # kept from before


def test_every_v50_row_on_an_amd_gpu_is_routed_and_nvidia_rows_only_to_tensorrt_llm_profiles():
    """NVIDIA-harness rows run the family rule, or a TensorRT-LLM deployment profile read from the round's
    configs (the llama2-70b-interactive Hopper settings), never an AMD one."""
    rows = _v5_rows()
    amd = {rid for rid, row in rows.items() if row["accelerator"].startswith("mi")}
    assert amd == set(AMD_V5)
    for rid, row in rows.items():
        if rid not in amd:
            engine = conv.for_row(rid).engine
            assert row["framework"] == "mlperf-nvidia", rid
            assert engine is None or engine_catalog.get(engine).engine == "tensorrt-llm", rid


def test_v40_and_v41_nvidia_harness_profiles_differ_in_no_field_the_model_reads():
    """The v4.0 -> v4.1 gain on the same GPUs is documented as unexplained: the two rounds' llama2-70b configs
    keep TP, batch and KV fraction, and the profiles share every serving field (a field added to one of them
    must come with a source and a new look at that note)."""
    v40, v41 = engine_catalog.get("mlperf-nvidia-v4.0"), engine_catalog.get("mlperf-nvidia-v4.1")
    assert all(getattr(v40, name) == getattr(v41, name) for name in engine_catalog.AGREED)
    assert "vboost_slider = 1" in v41.notes and "unexplained" in v41.notes
    assert "gpu_batch_size 806" in v40.notes and "configs/llama2-70b" in v41.notes
