"""Engine profiles (catalog/engines.toml): exact keys, sources, bounds, and clear errors on bad input."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flopwatt.catalog import engine_profiles as engine_catalog
from flopwatt.errors import InputError
from flopwatt.specs.engine import ENGINES, KV_ALLOCATIONS, EngineProfile

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
FIELDS = {f.name for f in dataclasses.fields(EngineProfile)} - {"id"}
REQUIRED_IDS = ("tensorrt-llm-0.11", "mlperf-nvidia-v4.0", "mlperf-nvidia-v4.1", "mlperf-nvidia-v5.1",
                "vllm-0.6.0", "vllm-0.8.0", "vllm-0.9.2", "mlperf-amd-v5.1", "sglang-0.4.0", "sglang-0.4.9")
GOOD = {"name": "x", "engine": "vllm", "release": "0.0", "source": "s", "retrieved": "2026-12-06"}


def _raw() -> dict:
    text = resources.files("flopwatt.catalog").joinpath("engines.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "engines.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_shipped_profiles_load_with_exact_keys():
    raw = _raw()
    profiles = engine_catalog.engines()
    assert set(profiles) == set(raw)
    assert set(REQUIRED_IDS) <= set(profiles)
    for entry_id, entry in raw.items():
        assert set(entry) <= FIELDS, f"{entry_id}: unknown keys {set(entry) - FIELDS}"


def test_every_profile_is_sourced_and_dated():
    for profile in engine_catalog.engines().values():
        assert len(profile.source) > 40, profile.id
        assert DATE.match(profile.retrieved), profile.id
        assert profile.released is None or DATE.match(profile.released), profile.id


def test_every_engine_has_a_profile_and_values_are_in_bounds():
    profiles = engine_catalog.engines().values()
    assert {p.engine for p in profiles} == set(ENGINES)
    for p in profiles:
        assert p.kv_allocation in (None, *KV_ALLOCATIONS)
        for budget in (p.max_num_tokens, p.max_batch_size):
            assert budget is None or 1 <= budget <= 1_000_000, p.id
        for overhead in (p.per_iteration_overhead_s, p.sampling_overhead_s):
            assert overhead is None or 0 < overhead < 1, p.id


def test_documented_defaults_that_differ_between_engines():
    """The few defaults the serving model will branch on, as the cited code and docs give them."""
    p = engine_catalog.engines()
    assert p["tensorrt-llm-0.11"].kv_allocation == "reserve"
    assert p["tensorrt-llm-0.11"].max_num_tokens == 8192
    assert p["vllm-0.6.0"].chunked_prefill is False and p["vllm-0.8.0"].chunked_prefill is True
    assert p["sglang-0.4.0"].schedule_overlap is True and p["vllm-0.9.2"].schedule_overlap is False


def test_a_typo_key_is_an_input_error(tmp_path):
    path = _write(tmp_path, '[e]\nname = "x"\nengine = "vllm"\nrelease = "1"\nsource = "s"\n'
                            'retrieved = "2026-12-06"\nmax_num_token = 8192\n')
    with pytest.raises(InputError, match=r"engine e\.max_num_token"):
        engine_catalog.load(path)


def test_a_missing_required_key_is_an_input_error(tmp_path):
    path = _write(tmp_path, '[e]\nname = "x"\nengine = "vllm"\nrelease = "1"\nretrieved = "2026-12-06"\n')
    with pytest.raises(InputError, match=r"engine e\.source"):
        engine_catalog.load(path)


@pytest.mark.parametrize(("key", "value", "field"), [
    ("engine", '"tgi"', "engine"),
    ("kv_allocation", '"lazy"', "kv_allocation"),
    ("max_num_tokens", "0", "max_num_tokens"),
    ("max_batch_size", "2.5", "max_batch_size"),
    ("chunked_prefill", '"yes"', "chunked_prefill"),
    ("per_iteration_overhead_s", "3.0", "per_iteration_overhead_s"),
    ("released", '"Dec 2024"', "released"),
])
def test_bad_values_name_the_field(tmp_path, key, value, field):
    entry = {k: f'"{v}"' for k, v in GOOD.items()} | {key: value}
    body = "".join(f"{k} = {v}\n" for k, v in entry.items())
    with pytest.raises(InputError, match=rf"engine e\.{field}"):
        engine_catalog.load(_write(tmp_path, "[e]\n" + body))


def test_bad_toml_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="valid TOML"):
        engine_catalog.load(_write(tmp_path, "[e\nname = 1\n"))


@given(st.integers(max_value=0))
def test_non_positive_budgets_are_rejected(n):
    with pytest.raises(InputError, match="max_num_tokens"):
        EngineProfile(id="e", max_num_tokens=n, **GOOD)


@given(st.floats(min_value=1e-9, max_value=0.999, allow_nan=False))
def test_sub_second_overheads_are_accepted(seconds):
    assert EngineProfile(id="e", per_iteration_overhead_s=seconds, **GOOD).per_iteration_overhead_s == seconds


# --- what a profile sets in the serving model -------------------------------------------------------------


def test_settings_take_kv_budget_and_batch_from_the_profile():
    p = engine_catalog.get("vllm-0.9.2")
    s = engine_catalog.settings(p)
    assert not s.kv_reserve and s.prefill_chunk_tokens == s.max_tokens_per_iteration == p.max_num_tokens
    assert s.max_batch == p.max_batch_size and s.iteration_overhead_s == 0.0
    assert any(n.startswith("engine: vllm-0.9.2") for n in s.notes)
    asked = engine_catalog.settings(p, "reserve")
    assert asked.kv_reserve and "asked (kv_admission)" in " ".join(asked.notes)
    own = engine_catalog.settings(p, limits=False)
    assert own.max_batch is None and own.max_tokens_per_iteration is None


def test_chunked_prefill_off_means_whole_prompts_and_missing_kv_falls_to_the_stated_rule():
    trt = engine_catalog.settings(engine_catalog.get("tensorrt-llm-0.11"))
    assert trt.kv_reserve and trt.prefill_chunk_tokens is None and trt.max_tokens_per_iteration == 8192
    harness = engine_catalog.settings(engine_catalog.get("mlperf-nvidia-v4.0"))
    assert harness.kv_reserve and "rule" in " ".join(harness.notes)


def test_family_keeps_only_the_fields_every_release_agrees_on():
    vllm = engine_catalog.family("vllm")
    assert vllm.kv_allocation == "on-demand" and vllm.max_num_tokens is None and vllm.chunked_prefill is None
    sglang = engine_catalog.family("sglang")
    assert sglang.schedule_overlap is True and sglang.max_num_tokens == 8192
    assert engine_catalog.family("tensorrt-llm").kv_allocation is None
    with pytest.raises(InputError, match="engine"):
        engine_catalog.family("deepseek-infer")


def test_deepseek_inference_system_is_a_deployment_with_only_what_its_page_publishes():
    profile = engine_catalog.get("deepseek-infer-2025-02")
    assert profile.engine == "deepseek-infer" and "deepseek-infer" in ENGINES
    assert "open-infra-index@3122a25" in profile.source
    assert all(getattr(profile, name) is None for name in engine_catalog.AGREED)  # none published: unknown
    settings = engine_catalog.settings(profile)
    assert settings.max_batch is None and settings.max_tokens_per_iteration is None
    assert settings.iteration_overhead_s == 0.0


def test_mlperf_v51_rows_take_their_own_published_limits():
    """Rows whose runs set their own batch and token budget name a deployment profile carrying them
    (conventions.toml -> engines.toml), so the limits are applied rather than dropped."""
    from flopwatt.validate import conventions as conv

    for row_id in [f"MLPA51-0{i}" for i in range(1, 10)] + [f"MLPN51-0{i}" for i in range(1, 8)]:
        convention = conv.for_row(row_id)
        profile = engine_catalog.get(convention.engine)
        assert not convention.run_sets_batch_limits and profile.id in engine_catalog.DEPLOYMENTS, row_id
        settings = engine_catalog.settings(profile)
        assert settings.max_batch == profile.max_batch_size and settings.max_batch is not None, row_id
        assert settings.max_tokens_per_iteration == profile.max_num_tokens is not None, row_id
    assert engine_catalog.get("mlperf-amd-v5.1-llama2-70b-mi300x-offline").max_batch_size == 1792
    assert engine_catalog.get("mlperf-nvidia-v5.1-deepseek-r1-server").max_num_tokens == 3456


def test_unknown_engine_id_is_one_clear_input_error():
    with pytest.raises(InputError, match="unknown id 'vllm-9'"):
        engine_catalog.get("vllm-9")


def test_catalog_lists_engines_as_a_kind():
    from flopwatt import catalog

    assert "engines" in catalog.KINDS
    assert catalog.get("engines", "sglang-0.4.9").engine == "sglang"


def _core(**knobs):
    from flopwatt import catalog
    from flopwatt.serve import ServeRequest

    return ServeRequest(model=catalog.get("models", "llama3.1-8b"), system=catalog.system_for("h100-sxm5-80gb"),
                        devices=1, input_len=2000.0, output_len=200.0, **knobs)


def test_max_batch_and_token_budget_bound_the_batch_search():
    from flopwatt.serve import estimate_serving

    free = estimate_serving(_core())
    bound = estimate_serving(_core(max_batch=16))
    assert bound["plan"]["batch_per_replica"] <= 16 < free["plan"]["batch_per_replica"]
    budget = estimate_serving(_core(max_tokens_per_iteration=1100))
    assert budget["plan"]["batch_per_replica"] * (1 + 2000 / 200) <= 1100


@settings(deadline=None)  # three serving searches per example: wall time depends on machine load, not the code
@given(st.floats(1e-4, 0.05))
def test_exposed_cpu_time_slows_every_iteration_and_the_overlap_scheduler_hides_it(overhead):
    from flopwatt.serve import estimate_serving

    base = estimate_serving(_core(tp=1, max_batch=8))["metrics"]
    exposed = estimate_serving(_core(tp=1, max_batch=8, iteration_overhead_s=overhead))["metrics"]
    hidden = estimate_serving(_core(tp=1, max_batch=8, iteration_overhead_s=overhead, overhead_hidden=True))["metrics"]
    assert exposed["output_tokens_per_s"] < base["output_tokens_per_s"]
    assert hidden["output_tokens_per_s"] >= exposed["output_tokens_per_s"]
    from flopwatt.perf.serving import EngineIteration

    gpu = np.array([overhead / 2, overhead * 2])
    assert EngineIteration(overhead_s=overhead).cycle(gpu) == pytest.approx(gpu + overhead)
    assert EngineIteration(overhead_s=overhead, overhead_hidden=True).cycle(gpu) == pytest.approx([overhead, gpu[1]])


@settings(deadline=None)  # serving searches per example: wall time depends on machine load, not the code
@given(st.floats(1e-6, 1e-4), st.integers(1, 64))
def test_cpu_time_per_sequence_grows_with_the_batch_and_the_overlap_scheduler_hides_it(per_sequence, batch):
    from flopwatt.perf.serving import EngineIteration
    from flopwatt.serve import estimate_serving

    gpu = np.array([1e-3, 50e-3])
    exposed = EngineIteration(overhead_s=2e-4, overhead_per_sequence_s=per_sequence)
    assert exposed.cycle(gpu, batch) == pytest.approx(gpu + 2e-4 + per_sequence * batch)
    hidden = dataclasses.replace(exposed, overhead_hidden=True)
    assert hidden.cycle(gpu, batch) == pytest.approx(np.maximum(gpu, 2e-4 + per_sequence * batch))
    assert EngineIteration(overhead_per_sequence_s=per_sequence).cycle(gpu) == pytest.approx(gpu)  # no sequences
    base = estimate_serving(_core(tp=1, max_batch=batch))["metrics"]
    slowed = estimate_serving(_core(tp=1, max_batch=batch, sequence_overhead_s=per_sequence))["metrics"]
    assert slowed["output_tokens_per_s"] < base["output_tokens_per_s"]
    assert slowed["engine_overhead_s"] == pytest.approx(per_sequence * batch, rel=1e-9)


def test_v1_vllm_profiles_carry_the_per_sequence_cpu_time_derived_from_their_source():
    """engines.toml: 12.8 us per sequence, the least-squares slope through the origin of the step time one partial
    overlap removed (vllm PR #23914's table: batch, synchronous and asynchronous generated tokens/s)."""
    table = np.array([[32, 1014, 1025], [64, 1853, 1896], [128, 3048, 3177], [256, 4039, 4258]], dtype=float)
    batch, sync, overlapped = table.T
    saved = batch / sync - batch / overlapped
    slope = float(batch @ saved / (batch @ batch))
    for release in ("vllm-0.8.0", "vllm-0.9.2", "vllm-0.11.0"):
        profile = engine_catalog.get(release)
        assert profile.per_sequence_overhead_s == pytest.approx(slope, rel=0.01) and not profile.schedule_overlap
        assert "#23914" in profile.source
        note = engine_catalog.settings(profile).notes
        assert any("12.8 us per sequence stepped, exposed" in n for n in note), note
    assert engine_catalog.get("vllm-0.6.0").per_sequence_overhead_s is None  # V0: nothing published per sequence


def test_a_vllm_profile_on_an_amd_device_says_which_kernel_path_it_assumes():
    from flopwatt import catalog

    amd = engine_catalog.settings(engine_catalog.get("vllm-0.11.0"), accelerator=catalog.get("accelerators", "mi300x"))
    nvidia = engine_catalog.settings(engine_catalog.get("vllm-0.11.0"),
                                     accelerator=catalog.get("accelerators", "h100-sxm5-80gb"))
    assert engine_catalog.ROCM_KERNEL_NOTE in amd.notes and engine_catalog.ROCM_KERNEL_NOTE not in nvidia.notes
    assert "VLLM_ROCM_USE_AITER off" in engine_catalog.ROCM_KERNEL_NOTE


def test_a_prompt_beyond_the_budget_without_chunking_is_infeasible():
    from flopwatt.serve import NoFeasiblePlan, estimate_serving

    with pytest.raises(NoFeasiblePlan, match="token iteration budget"):
        estimate_serving(_core(prefill_chunk_tokens=None, max_tokens_per_iteration=1024))


def test_api_serve_names_the_engine_and_what_it_set():
    from flopwatt import api
    from flopwatt.api.requests import ServeCompareRequest, ServeRequest

    result = api.serve(ServeRequest(model="llama3.1-8b", devices=1, input_len=1000, output_len=200))
    assert result.inputs["engine"] == engine_catalog.DEFAULT_ENGINE
    assert any(a.startswith("default: engine") for a in result.assumptions)
    assert any(a.startswith("engine KV allocation") for a in result.assumptions)
    trt = api.serve(ServeRequest(model="llama3.1-8b", devices=1, input_len=1000, output_len=200,
                                 engine="tensorrt-llm-0.11"))
    assert "engine KV allocation: reserve (the profile's)" in trt.assumptions
    both = api.serve_compare(ServeCompareRequest(model="llama3.1-8b", accelerator="h100-sxm5-80gb,mi300x",
                                                 devices=[1], input_len=1000, output_len=200,
                                                 engine="sglang-0.4.9,vllm-0.9.2"))
    assert [r.inputs["engine"] for r in both] == ["sglang-0.4.9", "vllm-0.9.2"]
    with pytest.raises(InputError, match="engine"):
        api.serve_compare(ServeCompareRequest(model="llama3.1-8b", accelerator="h100-sxm5-80gb,mi300x",
                                              input_len=1000, output_len=200, engine="a,b,c"))


def test_only_vllm_without_chunked_prefill_runs_prompts_alone():
    """vLLM V0 without chunked prefill keeps prompts out of decode steps; TensorRT-LLM's in-flight batching and
    chunked-prefill engines mix them (engine_profiles.prefill_alone)."""
    assert engine_catalog.settings(engine_catalog.get("vllm-0.6.0")).prefill_alone
    assert engine_catalog.settings(engine_catalog.get("mlperf-amd-v5.1-llama2-70b-mi300x-offline")).prefill_alone
    for mixed in ("vllm-0.9.2", "sglang-0.4.9", "tensorrt-llm-0.11", "mlperf-nvidia-v5.1-deepseek-r1-offline"):
        assert not engine_catalog.settings(engine_catalog.get(mixed)).prefill_alone, mixed


@given(batch=st.integers(1, 4096), inp=st.floats(16, 4000), out=st.floats(4, 2000),
       budget=st.sampled_from([None, 8192, 40960]))
def test_prompts_run_alone_keep_the_prompt_work_and_a_new_prompt_adds_its_own_step(batch, inp, out, budget):
    """Run alone (vLLM V0 without chunked prefill), the prompts per cycle are those of the mixed pass (Little's
    law), and a request's own prompt is one more step that lengthens its cycle."""
    from flopwatt.perf import serving as sv
    from flopwatt.serve import _setup

    core = _core(tp=1)
    hw, element_bytes, _ = _setup(core)
    shape = (np.array([1.0]), np.array([1.0]), np.array([1.0]))
    b = np.array([float(batch)])
    mixed = sv._iteration(core.model, hw, shape, b, (inp, out), element_bytes)
    engine = sv.EngineIteration(chunk_tokens=None, prefill_alone=True, token_budget=budget)
    alone = sv._iteration_prefill_alone(core.model, hw, shape, b, (inp, out), element_bytes, 0.0, engine)
    assert alone["prefill_tokens"][0] == pytest.approx(mixed["prefill_tokens"][0])
    own = sv._iteration_prefill_alone(core.model, hw, shape, b, (inp, out), element_bytes, inp, engine)
    assert own["cycle_s"][0] > alone["cycle_s"][0]


def test_prompts_run_alone_cost_a_memory_bound_decode_batch_their_own_pass():
    """A small decode batch is memory-bound, so prompts riding its pass hide their arithmetic under the weight
    stream; run alone they add passes of their own: the cycle is longer and throughput under a tight TPOT
    target lower."""
    from flopwatt.serve import estimate_serving

    knobs = {"tp": 1, "prefill_chunk_tokens": None, "max_tokens_per_iteration": 8192}
    mixed = estimate_serving(_core(**knobs, max_batch=32))["metrics"]
    alone = estimate_serving(_core(**knobs, max_batch=32, prefill_alone=True))["metrics"]
    assert alone["tpot_s"] > 1.05 * mixed["tpot_s"]
    tight = {**knobs, "tpot_slo_s": 0.02, "ttft_slo_s": 1.0, "slo_percentile": 99.0}
    assert (estimate_serving(_core(**tight, prefill_alone=True))["metrics"]["output_tokens_per_s"]
            < estimate_serving(_core(**tight))["metrics"]["output_tokens_per_s"])


def test_a_benchmark_prompt_count_is_read_from_the_releases_own_client():
    """benchmark_prompts (the length of a benchmark run whose source does not say) only where the release ships a
    benchmark client whose --num-prompts default its source cites; vLLM 0.6.0's wheel has none."""
    table = engine_catalog.engines()
    given_ = {k for k, p in table.items() if p.benchmark_prompts is not None}
    assert given_ == {"vllm-0.8.0", "vllm-0.9.2", "vllm-0.11.0", "vllm-0.14.0", "vllm-0.34.0", "sglang-0.4.0",
                      "sglang-0.4.9"}
    assert all("--num-prompts default 1000" in table[k].source for k in given_)
    assert engine_catalog.settings(table["vllm-0.11.0"]).benchmark_prompts == 1000
    assert "benchmark_prompts" not in engine_catalog.settings(table["vllm-0.11.0"]).knobs()


def test_vllm_releases_with_async_scheduling_by_default_hide_the_per_sequence_cpu_time():
    """vLLM 0.14.0 and 0.34.0 (release wheels' config/vllm.py): async scheduling on unless something turns it off, so
    the 12.8 us per sequence of PR #23914 (assumed for these releases) is hidden under the GPU's step time."""
    for release in ("vllm-0.14.0", "vllm-0.34.0"):
        profile = engine_catalog.get(release)
        assert profile.schedule_overlap is True and profile.per_sequence_overhead_s == 1.28e-5
        assert "#23914" in profile.source and f"ASSUMED for {profile.release}" in profile.source
        assert "sha256 " in profile.source and profile.retrieved == "2026-12-07"
        s = engine_catalog.settings(profile)
        assert s.overhead_hidden and any("12.8 us per sequence stepped, hidden" in n for n in s.notes), s.notes
    assert not engine_catalog.settings(engine_catalog.get("vllm-0.11.0")).overhead_hidden


def test_vllm_0140_keeps_the_0110_serving_and_memory_fields_but_overlaps():
    """0.14.0: the same budget, batch, device rule, memory share and native sampler path as 0.11.0; only the
    schedule overlap differs, on for one pipeline stage (vllm/config/vllm.py:588-628 turns it off with pp > 1)."""
    old, new = engine_catalog.get("vllm-0.11.0"), engine_catalog.get("vllm-0.14.0")
    same = [f for f in engine_catalog.AGREED if not f.startswith("schedule_overlap")] + [
        "reduced_defaults_below_bytes", "reduced_defaults_accelerators", "reduced_max_num_tokens",
        "reduced_max_batch_size"]
    assert {f: getattr(new, f) for f in same} == {f: getattr(old, f) for f in same}
    assert old.schedule_overlap is False and new.schedule_overlap is True
    assert new.schedule_overlap_max_pp == 1 and engine_catalog.get("vllm-0.34.0").schedule_overlap_max_pp is None


def test_an_overlap_scheduler_off_with_pipeline_parallelism_exposes_the_cpu_time_there():
    """EngineIteration.cycle: hidden (the longer of GPU and CPU) within the pipeline depth the scheduler runs with,
    added beyond it; vllm-0.14.0 over 4 H100 at tp 4 / pp 1 against tp 2 / pp 2: only the second exposes it."""
    from flopwatt import api
    from flopwatt.perf.serving import EngineIteration

    engine = EngineIteration(overhead_per_sequence_s=1e-5, overhead_hidden=True, overlap_max_pp=1)
    gpu = np.array([0.02, 0.02])
    assert engine.cycle(gpu, 1000.0, np.array([1.0, 2.0])) == pytest.approx([0.02, 0.03])
    overhead = {}
    for tp, pp in ((4, 1), (2, 2)):
        req = api.ServeRequest(model="llama3.1-70b", accelerator="h100-sxm5-80gb", devices=4, input_len=1000,
                               output_len=500, precision="fp8", engine="vllm-0.14.0", tp=tp, pp=pp)
        overhead[pp] = api.serve(req).payload()["metrics"]["engine_overhead_s"]
    assert overhead[1] == 0.0 < overhead[2]


def test_vllm_0340_sizes_its_kv_cache_another_way_so_its_memory_fields_stay_unknown():
    """0.34.0: the extensible KV cache (sized from memory measured after warm-up) and a new sampler path: no
    gpu_memory_utilization or sampler_bytes_per_logit; three device tiers (arg_utils get_batch_defaults)."""
    from flopwatt import catalog

    p = engine_catalog.get("vllm-0.34.0")
    assert p.gpu_memory_utilization is None and p.sampler_bytes_per_logit is None
    assert (p.max_num_tokens, p.max_batch_size, p.reduced_max_num_tokens, p.reduced_max_batch_size) == (
        8192, 1024, 2048, 256)
    assert "extensible KV cache" in p.notes and p.large_defaults_from_bytes == 160 * 2**30
    h200 = engine_catalog.settings(p, accelerator=catalog.get("accelerators", "h200-sxm-141gb"))
    a100 = engine_catalog.settings(p, accelerator=catalog.get("accelerators", "a100-sxm4-80gb"))
    b200 = engine_catalog.settings(p, accelerator=catalog.get("accelerators", "b200-sxm-180gb"))
    mi355x = engine_catalog.settings(p, accelerator=catalog.get("accelerators", "mi355x"))
    assert (h200.max_tokens_per_iteration, h200.max_batch) == (8192, 1024)
    assert (a100.max_tokens_per_iteration, a100.max_batch) == (2048, 256)
    assert (b200.max_tokens_per_iteration, b200.max_batch) == (16384, 1024) == (mi355x.max_tokens_per_iteration,
                                                                                 mi355x.max_batch)
    assert any("160 GiB of memory or more" in n for n in b200.notes)
    assert "no activation peak counted" in " ".join(h200.notes)
