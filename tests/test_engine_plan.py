"""Deployment engine profiles fix the plan's parallelism (issue #17): the request's own degrees win, with a line
saying so; a bad parallel field is one InputError naming it; release profiles state none."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flopwatt import api, catalog
from flopwatt.api.requests import ServeRequest as ApiServeRequest
from flopwatt.catalog import engine_profiles
from flopwatt.errors import InputError
from flopwatt.serve import ServeRequest, _plans, estimate_serving
from flopwatt.specs.engine import PARALLEL_SIZES, EngineProfile

MIXTRAL, H200 = "mixtral-8x7b", "hgx-h200"
BASE = dict(id="test-deployment", name="a test deployment", engine="tensorrt-llm", release="x", source="a test",
            retrieved="2026-12-06")


def _request(settings_: engine_profiles.EngineSettings, devices: int = 8, **kw) -> ServeRequest:
    return ServeRequest(model=catalog.get("models", kw.pop("model", MIXTRAL)), system=catalog.get("systems", H200),
                        devices=devices, input_len=kw.pop("input_len", 1024), output_len=256, **kw,
                        **settings_.knobs())


# tp divides Mixtral's 32 heads within the 8-GPU domain, ep its 8 experts; tp x ep x pp within 8 devices
DEGREES = st.tuples(st.sampled_from([None, 1, 2, 4, 8]), st.sampled_from([None, 1, 2, 4, 8]),
                    st.sampled_from([None, 1, 2]), st.booleans()).filter(
    lambda d: (d[0] or 1) * (d[1] or 1) * (d[2] or 1) <= 8)


@settings(max_examples=60, deadline=None)
@given(DEGREES)
def test_every_plan_searched_has_the_degrees_the_profile_fixes(degrees):
    tp, ep, pp, attention_dp = degrees
    profile = EngineProfile(**BASE, tensor_parallel_size=tp, expert_parallel_size=ep, pipeline_parallel_size=pp,
                            attention_data_parallel=attention_dp or None)
    fixed, _ = engine_profiles.plan_fixes(profile)
    knobs = engine_profiles.settings(profile)
    plans = _plans(_request(knobs))
    assert len(plans.tp)
    for knob, value in fixed.items():
        assert (getattr(plans, knob) == value).all(), knob
    if attention_dp:
        assert fixed["tp"] == 1 and fixed.get("ep") == ep  # each rank its own attention group
    else:
        assert fixed.get("tp") == tp and fixed.get("ep") == (1 if ep == 1 else None)
    assert fixed.get("pp") == pp
    line = [n for n in knobs.notes if n.startswith(f"engine profile {profile.id} fixes")]
    assert bool(line) == bool(fixed)


@settings(max_examples=25, deadline=None)
@given(st.sampled_from([1, 2, 4, 8]), st.sampled_from([1, 2, 4, 8]))
def test_the_requests_own_tp_wins_over_the_profiles_with_a_line_saying_so(profile_tp, asked_tp):
    profile = EngineProfile(**BASE, tensor_parallel_size=profile_tp, expert_parallel_size=1)
    knobs = engine_profiles.settings(profile, tp=asked_tp)
    assert knobs.tp == asked_tp and knobs.ep == 1 and knobs.from_profile == ("ep",)
    plans = _plans(_request(knobs))
    assert (plans.tp == asked_tp).all() and (plans.ep == 1).all()
    overridden = [n for n in knobs.notes if "the request wins over the profile" in n]
    assert len(overridden) == (profile_tp != asked_tp)
    if overridden:
        assert f"tp={profile_tp}" in overridden[0] and f"tp={asked_tp}" in overridden[0]


def test_the_chosen_mixtral_plan_is_nvidias_eight_tp1_engines_without_ep():
    profile = engine_profiles.get("mlperf-nvidia-v5.0-mixtral-8x7b-h200-server")
    assert (profile.tensor_parallel_size, profile.pipeline_parallel_size, profile.expert_parallel_size) == (1, 1, 1)
    best = estimate_serving(_request(engine_profiles.settings(profile)))["plan"]
    assert (best["tp"], best["ep"], best["pp"], best["replicas"]) == (1, 1, 1, 8)
    open_search = estimate_serving(_request(engine_profiles.settings(dataclasses.replace(
        profile, tensor_parallel_size=None, pipeline_parallel_size=None, expert_parallel_size=None))))
    assert open_search["plans_evaluated"] > best["replicas"]  # the profile really narrowed the search


@pytest.mark.parametrize("name", PARALLEL_SIZES)
@pytest.mark.parametrize("bad", [0, -2, 1.5, "2", True])
def test_a_bad_parallel_field_is_one_input_error_naming_it(name, bad):
    with pytest.raises(InputError) as err:
        EngineProfile(**BASE, **{name: bad})
    assert err.value.field == f"engine test-deployment.{name}"


@pytest.mark.parametrize("bad", [1, "yes", 0.0])
def test_attention_data_parallel_must_be_a_bool(bad):
    with pytest.raises(InputError) as err:
        EngineProfile(**BASE, attention_data_parallel=bad)
    assert err.value.field == "engine test-deployment.attention_data_parallel"


def test_a_bad_parallel_field_in_a_toml_file_is_one_input_error(tmp_path):
    path = tmp_path / "engines.toml"
    path.write_text('[x]\nname = "x"\nengine = "vllm"\nrelease = "1"\nsource = "s"\nretrieved = "2026-12-06"\n'
                    'tensor_parallel_size = 0\n')
    with pytest.raises(InputError, match=r"engine x\.tensor_parallel_size"):
        engine_profiles.load(path)


def test_only_deployments_state_parallelism_and_family_never_takes_it():
    for profile in engine_profiles.engines().values():
        stated = [n for n in (*PARALLEL_SIZES, "attention_data_parallel") if getattr(profile, n) is not None]
        if stated:
            assert profile.id in engine_profiles.DEPLOYMENTS, (profile.id, stated)
    for engine in ("tensorrt-llm", "vllm", "sglang"):
        family = engine_profiles.family(engine)
        assert engine_profiles.plan_fixes(family) == ({}, [])


def test_serve_lists_the_profile_fix_and_a_users_tp_wins_with_a_line():
    body = dict(model=MIXTRAL, accelerator="h200-sxm-141gb", devices=8, input_len=1024, output_len=256,
                engine="mlperf-nvidia-v5.0-mixtral-8x7b-h200-server")
    fixed = api.serve(ApiServeRequest(**body))
    assert (fixed.plan["tp"], fixed.plan["ep"], fixed.plan["pp"]) == (1, 1, 1)
    assert any(a.startswith("engine profile mlperf-nvidia-v5.0-mixtral-8x7b-h200-server fixes tp=1, pp=1, ep=1")
               for a in fixed.assumptions)
    asked = api.serve(ApiServeRequest(**body, tp=2))
    assert asked.plan["tp"] == 2 and asked.plan["ep"] == 1
    assert any("the request asks tp=2" in a and "the request wins" in a for a in asked.assumptions)
    release = api.serve(ApiServeRequest(**{**body, "engine": "tensorrt-llm-0.11"}))
    assert not any(a.startswith("engine profile") for a in release.assumptions)


def test_a_profile_degree_the_request_cannot_take_names_the_profile_field():
    # DeepSeek-R1's deployment spreads the experts over 8 attention-DP ranks: 4 devices cannot hold that plan
    body = dict(model="deepseek-r1", accelerator="b200-sxm-180gb", devices=4, input_len=1024, output_len=256,
                engine="mlperf-nvidia-v5.1-deepseek-r1-offline")
    with pytest.raises(InputError) as err:
        api.serve(ApiServeRequest(**body))
    assert err.value.field == "engine mlperf-nvidia-v5.1-deepseek-r1-offline.expert_parallel_size"
    with pytest.raises(InputError) as err:  # the user's own ep is the user's error
        api.serve(ApiServeRequest(**body, ep=16))
    assert err.value.field == "--ep"


V50_ROWS = {"MLPI5-01": ("mlperf-nvidia-v5.0-llama2-70b-h200", 1, 1),
            "MLPI5-02": ("mlperf-nvidia-v5.0-llama2-70b-h200", 1, 1),
            "MLPI5-03": ("mlperf-nvidia-v5.0-llama2-70b-h100-offline", 1, 2),
            "MLPI5-04": ("mlperf-nvidia-v5.0-llama2-70b-h100-server", 1, 2),
            "MLPI5-05": ("mlperf-nvidia-v5.0-llama2-70b-interactive-hopper", 1, 1),
            "MLPI5-06": ("mlperf-hpe-v5.0-llama2-70b-interactive-h100", 2, 1),
            "MLPI5-14": ("mlperf-nvidia-v5.0-mixtral-8x7b-h200-offline", 1, 1),
            "MLPI5-15": ("mlperf-nvidia-v5.0-mixtral-8x7b-h200-server", 1, 1),
            "MLPI5-16": ("mlperf-cisco-v5.0-mixtral-8x7b-h100-offline", 1, 1),
            "MLPI5-17": ("mlperf-cisco-v5.0-mixtral-8x7b-h100-server", 1, 1),
            "MLPI5-20": ("mlperf-nvidia-v5.0-llama3.1-405b-h200-offline", 4, 2),
            "MLPI5-21": ("mlperf-nvidia-v5.0-llama3.1-405b-h200-server", 8, 1),
            "MLPI5-22": ("mlperf-dell-v5.0-llama3.1-405b-h100-offline", 8, 1),
            "MLPI5-23": ("mlperf-dell-v5.0-llama3.1-405b-h100-server", 4, 2),
            "MLPI5-11": ("mlperf-nvidia-v5.0-llama2-70b-b200", 1, 1),
            "MLPI5-12": ("mlperf-nvidia-v5.0-llama2-70b-b200", 1, 1),
            "MLPI5-13": ("mlperf-nvidia-v5.0-llama2-70b-interactive-b200", 1, 1),
            "MLPI5-18": ("mlperf-nvidia-v5.0-mixtral-8x7b-b200-offline", 1, 1),
            "MLPI5-19": ("mlperf-nvidia-v5.0-mixtral-8x7b-b200-server", 1, 1),
            "MLPI5-24": ("mlperf-nvidia-v5.0-llama3.1-405b-b200-offline", 2, 2),
            "MLPI5-25": ("mlperf-nvidia-v5.0-llama3.1-405b-b200-server", 2, 2),
            "MLPI5-26": ("mlperf-nvidia-v5.0-llama3.1-405b-gb200-offline", 2, 2),
            "MLPI5-27": ("mlperf-nvidia-v5.0-llama3.1-405b-gb200-server", 2, 2)}
"""The v5.0 rows mapped to the deployment their result ran, with the tp x pp its config class sets (as read)."""


@pytest.mark.parametrize("row_id", sorted(V50_ROWS))
def test_each_v50_nvidia_harness_row_runs_its_own_class_with_its_parallelism(row_id):
    from flopwatt.validate import conventions as conv

    engine_id, tp, pp = V50_ROWS[row_id]
    convention = conv.for_row(row_id)
    assert convention.engine == engine_id and engine_id in engine_profiles.DEPLOYMENTS
    assert "engine:" in convention.source and engine_id in convention.source
    profile = engine_profiles.get(engine_id)
    assert profile.engine == "tensorrt-llm" and "closed/" in profile.source and "configs/" in profile.source
    assert (profile.tensor_parallel_size, profile.pipeline_parallel_size) == (tp, pp)
    if "mixtral" in engine_id:
        assert profile.expert_parallel_size == 1  # one GPU per tp-1 engine holds all experts
    assert engine_profiles.settings(profile).knobs()["tp"] == tp


def test_validate_states_the_profile_fix_and_a_rows_own_tp_wins():
    from flopwatt.validate import _engine

    row = {"id": "MLPI5-15", "framework": "mlperf-nvidia"}
    notes: list[str] = []
    knobs = _engine(row, notes, {"tp": None, "pp": None, "ep": None})
    assert (knobs.tp, knobs.pp, knobs.ep) == (1, 1, 1)
    assert any(n.startswith("engine profile mlperf-nvidia-v5.0-mixtral-8x7b-h200-server fixes") for n in notes)
    notes = []
    own = _engine(row, notes, {"tp": 2, "pp": None, "ep": None})
    assert own.tp == 2 and any("the request asks tp=2" in n for n in notes)
