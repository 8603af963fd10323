"""An engine release's defaults by device (vLLM 0.9.2 _set_default_args_v1: 8192 tokens and 1024 sequences per
iteration only on a GPU of >= 70 GiB whose name is not an A100, else 2048 and 256): engines.toml's reduced_* fields
and flopwatt.catalog.engine_profiles.for_device."""

from __future__ import annotations

import dataclasses

import pytest

from flopwatt import api, catalog
from flopwatt.catalog import engine_profiles
from flopwatt.errors import InputError


def _settings(accelerator: str, **kw):
    return engine_profiles.settings(engine_profiles.get("vllm-0.9.2"), accelerator=catalog.accelerators()[accelerator],
                                    **kw)


@pytest.mark.parametrize("accelerator,tokens,seqs", [("h100-sxm5-80gb", 8192, 1024), ("h200-sxm-141gb", 8192, 1024),
                                                      ("mi300x", 8192, 1024), ("a100-sxm4-80gb", 2048, 256),
                                                      ("a100-sxm4-40gb", 2048, 256), ("v100-sxm2-32gb", 2048, 256)])
def test_vllm_092_defaults_by_device(accelerator, tokens, seqs):
    got = _settings(accelerator)
    assert (got.max_tokens_per_iteration, got.max_batch, got.prefill_chunk_tokens) == (tokens, seqs, tokens)
    assert (got.engine_memory.profile_tokens, got.engine_memory.profile_seqs) == (tokens, seqs)
    assert any("engine defaults on" in n for n in got.notes) == (seqs == 256)


def test_other_vendors_and_unprofiled_releases_keep_the_profile():
    assert _settings("tpu-v6e").max_batch == 1024  # vLLM's TPU defaults are another table, not profiled here
    trt = engine_profiles.settings(engine_profiles.get("tensorrt-llm-0.11"),
                                   accelerator=catalog.accelerators()["a100-sxm4-80gb"])
    assert trt.max_tokens_per_iteration == 8192


def test_a_run_that_set_its_own_limits_applies_none():
    got = _settings("a100-sxm4-80gb", limits=False)
    assert got.max_batch is None and got.max_tokens_per_iteration is None


def test_serve_on_an_a100_states_and_applies_the_reduced_defaults():
    req = api.ServeRequest(model="llama3.1-8b", accelerator="a100-sxm4-80gb", devices=1, input_len=1000,
                           output_len=1000, precision="bf16", engine="vllm-0.9.2")
    out = api.serve(req).payload()
    assert out["plan"]["batch_per_replica"] <= 256
    assert any("engine defaults on a100-sxm4-80gb" in a for a in out["assumptions"])


@pytest.mark.parametrize("field,value", [("reduced_max_batch_size", 0), ("reduced_defaults_below_bytes", -1.0),
                                         ("reduced_defaults_accelerators", "a100"),
                                         ("reduced_defaults_accelerators", [""])])
def test_profile_rejects_bad_reduced_defaults(field, value):
    with pytest.raises(InputError, match=field):
        dataclasses.replace(engine_profiles.get("vllm-0.9.2"), **{field: value})


def test_reduced_values_need_the_devices_they_apply_to():
    base = engine_profiles.get("vllm-0.9.2")
    with pytest.raises(InputError, match="reduced_max_num_tokens"):
        dataclasses.replace(base, reduced_defaults_below_bytes=None, reduced_defaults_accelerators=None)


def test_the_default_engine_is_the_newest_profiled_vllm_release_with_every_field():
    """DEFAULT_ENGINE's docstring: the newest profiled open-engine release whose source gives every field the model
    reads, the start-up memory fields included (vllm-0.34.0 sizes its KV cache another way and leaves them unknown).
    vLLM releases compare by their version numbers."""
    fields = ("kv_allocation", "max_num_tokens", "max_batch_size", "chunked_prefill", "schedule_overlap",
              "gpu_memory_utilization", "sampler_bytes_per_logit")
    releases = [p for p in engine_profiles.engines().values() if p.engine == "vllm"
                and p.id not in engine_profiles.DEPLOYMENTS and p.release[0].isdigit()
                and all(getattr(p, f) is not None for f in fields)]
    newest = max(releases, key=lambda p: tuple(int(x) for x in p.release.split(".")))
    assert engine_profiles.DEFAULT_ENGINE == newest.id


@pytest.mark.parametrize("fields", [{"large_defaults_from_bytes": 160 * 2**30},
                                    {"large_max_num_tokens": 16384},
                                    {"large_defaults_from_bytes": -1.0, "large_max_num_tokens": 16384},
                                    {"large_defaults_from_bytes": 64 * 2**30, "large_max_num_tokens": 16384}])
def test_large_device_defaults_need_their_memory_bound_above_the_reduced_one(fields):
    with pytest.raises(InputError, match="large"):
        dataclasses.replace(engine_profiles.get("vllm-0.9.2"), **fields)

