"""CUDA-graph batch sizes as an engine-profile fact: EngineProfile.cuda_graph_batch_sizes, its path through
engine_profiles.settings() and flopwatt.serve.ServeRequest into EngineIteration, and the API/CLI statement."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flopwatt import api, catalog
from flopwatt.api.requests import ServeRequest as ApiServeRequest
from flopwatt.catalog import engine_profiles
from flopwatt.cli import run_command
from flopwatt.errors import InputError
from flopwatt.perf.serving import evaluate_serving
from flopwatt.serve import ServeRequest, _plans, _setup, estimate_serving
from flopwatt.specs.engine import EngineProfile

PERF_OVERVIEW = "trtllm-perf-overview-v1.0-dense"
DOC_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 384, 512, 1024, 2048, 4096, 8192)
"""The llm_options.yml batch sizes of TensorRT-LLM@00f37686 perf-overview.md, as read for the profile."""
GOOD = {"name": "x", "engine": "tensorrt-llm", "release": "0.0", "source": "s", "retrieved": "2026-12-06"}
ROW = {"model": "llama3.1-70b", "accelerator": "h200-sxm-141gb", "devices": 1, "tp": 1, "input_len": 128,
       "output_len": 2048, "precision": "fp8"}
"""A perf-overview row (H200 TP1 fp8 128/2048) whose best plan pads: its plan batch is not a captured size."""


def _core(sizes, *, model="llama3.1-70b", accelerator="h200-sxm-141gb", input_len=128.0, output_len=2048.0,
          tp=1) -> ServeRequest:
    return ServeRequest(model=catalog.get("models", model), system=catalog.system_for(accelerator), devices=tp,
                        tp=tp, input_len=input_len, output_len=output_len, precision="fp8",
                        cuda_graph_batch_sizes=sizes)


# --- the profile field -------------------------------------------------------------------------------------


def test_the_perf_overview_profile_states_the_documents_graph_sizes_and_is_a_deployment():
    profile = engine_profiles.get(PERF_OVERVIEW)
    assert profile.cuda_graph_batch_sizes == DOC_SIZES and profile.cuda_graphs is True
    assert "00f37686aa854010d68bcbd0f4ab000221541ca6" in profile.source and "enable_padding: true" in profile.source
    assert PERF_OVERVIEW in engine_profiles.DEPLOYMENTS  # a benchmark configuration, not a release's defaults
    assert "cuda_graph_batch_sizes" not in engine_profiles.AGREED
    assert engine_profiles.family("tensorrt-llm").cuda_graph_batch_sizes is None
    others = [p for p in engine_profiles.engines().values() if p.id != PERF_OVERVIEW]
    assert all(p.cuda_graph_batch_sizes is None for p in others)  # no other source states sizes with padding on


@pytest.mark.parametrize("value", ["[0, 1]", "[2, 1]", "[1, 1]", "[]", '"8"', "8", "[1.5, 2]", "[true]",
                                   '["1", "2"]'])
def test_a_bad_graph_size_list_is_one_input_error_naming_the_field(tmp_path: Path, value):
    body = "".join(f'{k} = "{v}"\n' for k, v in GOOD.items()) + f"cuda_graph_batch_sizes = {value}\n"
    path = tmp_path / "engines.toml"
    path.write_text("[e]\n" + body, encoding="utf-8")
    with pytest.raises(InputError, match=r"^engine e\.cuda_graph_batch_sizes: expected"):
        engine_profiles.load(path)


def test_graph_sizes_with_graphs_off_are_refused_and_a_list_is_kept_as_a_tuple():
    with pytest.raises(InputError, match=r"engine e\.cuda_graph_batch_sizes"):
        EngineProfile(id="e", cuda_graphs=False, cuda_graph_batch_sizes=[1, 2], **GOOD)
    profile = EngineProfile(id="e", cuda_graphs=True, cuda_graph_batch_sizes=[1, 2, 8], **GOOD)
    assert profile.cuda_graph_batch_sizes == (1, 2, 8)
    hash(profile)  # frozen and hashable like every other profile


@pytest.mark.parametrize("value", [(0, 1), (4, 2), (), (1.0, 2.0)])
def test_a_bad_serve_request_knob_is_one_input_error(value):
    with pytest.raises(InputError, match=r"^engine cuda_graph_batch_sizes: expected"):
        _core(value)


# --- the path into the serving model ------------------------------------------------------------------------


def test_the_profile_reaches_the_engine_iteration():
    knobs = engine_profiles.settings(engine_profiles.get(PERF_OVERVIEW), tp=1).knobs()
    assert knobs["cuda_graph_batch_sizes"] == DOC_SIZES
    req = ServeRequest(model=catalog.get("models", "llama3.1-70b"), system=catalog.system_for("h200-sxm-141gb"),
                       devices=1, input_len=128.0, output_len=2048.0, **knobs)
    assert req.engine.graph_batch_sizes == DOC_SIZES
    # graph sizes are a fact of the graphs, not a limit the run may set itself: kept with limits=False
    assert engine_profiles.settings(engine_profiles.get(PERF_OVERVIEW), limits=False).cuda_graph_batch_sizes
    assert engine_profiles.settings(engine_profiles.get("tensorrt-llm-0.11")).cuda_graph_batch_sizes is None
    assert ServeRequest(model=req.model, system=req.system, devices=1, input_len=128.0,
                        output_len=2048.0).engine.graph_batch_sizes is None


_SIZES = st.lists(st.integers(min_value=1, max_value=9000), min_size=1, max_size=8, unique=True).map(
    lambda xs: tuple(sorted(xs)))


@settings(max_examples=25, deadline=None)
@given(sizes=_SIZES, model=st.sampled_from(["llama3.1-8b", "llama3.1-70b"]),
       accelerator=st.sampled_from(["h100-sxm5-80gb", "h200-sxm-141gb", "b200-sxm-180gb"]),
       input_len=st.sampled_from([128.0, 1000.0, 5000.0]), output_len=st.sampled_from([128.0, 500.0, 2048.0]))
def test_padding_never_raises_the_throughput_of_any_plan(sizes, model, accelerator, input_len, output_len):
    padded = _core(sizes, model=model, accelerator=accelerator, input_len=input_len, output_len=output_len)
    plain = dataclasses.replace(padded, cuda_graph_batch_sizes=None)
    plans = _plans(plain)
    hardware, element_bytes, slo = _setup(plain)
    runs = [evaluate_serving(r.model, hardware, r.devices, plans, lengths=r.lengths, element_bytes=element_bytes,
                             slo=slo, engine=r.engine) for r in (plain, padded)]
    without, with_ = (r.metrics["output_tokens_per_s"] for r in runs)
    assert np.all(with_ <= without * (1 + 1e-12))
    assert not np.any(runs[1].feasible & ~runs[0].feasible)  # padding never makes an infeasible plan feasible


@settings(max_examples=6, deadline=None)
@given(sizes=_SIZES, input_len=st.sampled_from([128.0, 2048.0]), output_len=st.sampled_from([128.0, 2048.0]))
def test_padding_never_raises_the_best_plans_throughput(sizes, input_len, output_len):
    padded = _core(sizes, input_len=input_len, output_len=output_len)
    best = estimate_serving(padded)["metrics"]["output_tokens_per_s"]
    plain = estimate_serving(dataclasses.replace(padded, cuda_graph_batch_sizes=None))["metrics"]
    assert best <= plain["output_tokens_per_s"] * (1 + 1e-12)


# --- API and CLI --------------------------------------------------------------------------------------------


def test_api_and_cli_apply_the_profile_state_it_and_agree():
    result = api.serve(ApiServeRequest(engine=PERF_OVERVIEW, **ROW))
    line = (f"engine profile {PERF_OVERVIEW} pads decode-only iterations to its captured CUDA-graph batch sizes "
            f"{', '.join(map(str, DOC_SIZES))} (engines.toml [{PERF_OVERVIEW}] source)")
    assert line in result.assumptions
    core = _core(DOC_SIZES, input_len=128.0, output_len=2048.0)
    assert result.metrics["output_tokens_per_s"] == estimate_serving(core)["metrics"]["output_tokens_per_s"]
    unpadded = estimate_serving(dataclasses.replace(core, cuda_graph_batch_sizes=None))["metrics"]
    assert result.metrics["output_tokens_per_s"] < unpadded["output_tokens_per_s"]  # padding is applied here
    args = ["serve", "--engine", PERF_OVERVIEW, "--json"]
    for key, value in ROW.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    cli, _ = run_command(args)
    assert cli["plan"] == result.payload()["plan"] and cli["metrics"] == result.payload()["metrics"]
    assert line in cli["assumptions"]
    plain = api.serve(ApiServeRequest(engine="tensorrt-llm-0.11", **ROW))
    assert not any("CUDA-graph" in a for a in plain.assumptions)
