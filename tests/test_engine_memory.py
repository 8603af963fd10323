"""The KV budget an engine leaves (flopwatt.perf.engine_memory): the plain share, the profiled activation peak of
vLLM V1's start-up (catalog/engines.toml vllm-0.8.0 / vllm-0.9.2), and how a profile's fields reach a serving
estimate."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flopwatt import catalog
from flopwatt.catalog import engine_memory, engine_profiles
from flopwatt.errors import InputError
from flopwatt.perf.engine_memory import ACTIVATION_BYTES, EngineMemory, profiled_activation_bytes

GB = 1e9


def _acc(name):
    return catalog.accelerators()[name]


def _llama8b():
    return catalog.model_by_name("llama3.1-8b")


def test_plain_share_is_the_old_rule():
    limit = EngineMemory(share=0.9).kv_limit_bytes(_llama8b(), 80 * GB, np.array([1.0, 2.0, 8.0]))
    assert np.allclose(limit, 0.9 * 80 * GB)


def test_reserved_bytes_come_off_whatever_the_share():
    limit = EngineMemory(share=1.0, reserved_bytes=10 * GB).kv_limit_bytes(_llama8b(), 80 * GB, np.array([1.0]))
    assert np.allclose(limit, 70 * GB)


def test_sampler_peak_by_hand():
    """8,192 tokens, 1,024 requests of a 128,256-token vocabulary at 28 B per logit, plus the last hidden states:
    the sampler pass is the larger peak for Llama 3.1 8B."""
    m = _llama8b()
    got = profiled_activation_bytes(m, np.array([1.0]), 8192, 1024, 28.0)
    sampler = 1024 * m.vocab * 28.0 + 8192 * m.hidden * ACTIVATION_BYTES
    forward = 8192 * (2 * m.hidden + 3 * m.ffn_hidden) * ACTIVATION_BYTES
    assert sampler > forward
    assert got[0] == pytest.approx(sampler)


def test_forward_peak_wins_without_a_sampler_and_shrinks_with_tp():
    m = _llama8b()
    got = profiled_activation_bytes(m, np.array([1.0, 4.0]), 8192, 1024, 1e-9)
    assert got[0] == pytest.approx(8192 * (2 * m.hidden + 3 * m.ffn_hidden) * ACTIVATION_BYTES, rel=1e-6)
    assert got[1] < got[0]


@given(tokens=st.integers(1, 65536), seqs=st.integers(1, 4096), per_logit=st.floats(0.5, 64.0),
       tp=st.sampled_from([1.0, 2.0, 4.0, 8.0]))
def test_peak_grows_with_the_budget_and_never_below_either_part(tokens, seqs, per_logit, tp):
    m = _llama8b()
    one = profiled_activation_bytes(m, np.array([tp]), tokens, seqs, per_logit)[0]
    more = profiled_activation_bytes(m, np.array([tp]), tokens + 1024, seqs + 64, per_logit)[0]
    assert more >= one
    assert one >= min(tokens, seqs) * m.vocab * per_logit
    held = EngineMemory(share=0.9, profile_tokens=tokens, profile_seqs=seqs, sampler_bytes_per_logit=per_logit)
    limit = held.kv_limit_bytes(m, 80 * GB, np.array([tp]))[0]
    assert limit == pytest.approx(0.9 * 80 * GB - one)


def test_moe_peak_counts_the_routed_copies():
    m = catalog.model_by_name("qwen3-30b-a3b")
    got = profiled_activation_bytes(m, np.array([1.0]), 8192, 1, 1e-9)[0]
    copies = 8192 * m.moe.topk
    assert got >= copies * 3 * m.moe.ffn_hidden * ACTIVATION_BYTES


def test_vllm_v1_profiles_state_the_profiled_peak_and_v0_does_not():
    for engine_id in ("vllm-0.8.0", "vllm-0.9.2"):
        held, line = engine_memory.memory(engine_profiles.get(engine_id), accelerator=_acc("h100-sxm5-80gb"))
        assert held.profile_tokens == 8192 and held.profile_seqs == 1024 and held.sampler_bytes_per_logit > 0
        assert "activation peak" in line and engine_id in line
    held, line = engine_memory.memory(engine_profiles.get("vllm-0.6.0"), accelerator=_acc("h100-sxm5-80gb"))
    assert held.profile_tokens is None and held.share == 0.9 and "no activation peak" in line
    held, line = engine_memory.memory(engine_profiles.get("vllm-0.9.2"), limits=False,
                                      accelerator=_acc("h100-sxm5-80gb"))
    assert held.profile_tokens is None and "set its own" in line
    held, _ = engine_memory.memory(engine_profiles.get("tensorrt-llm-0.11"))
    assert held == EngineMemory(share=0.9)


@pytest.mark.parametrize("field,value", [("gpu_memory_utilization", 0.0), ("gpu_memory_utilization", 1.5),
                                         ("gpu_memory_utilization", True), ("sampler_bytes_per_logit", -1.0),
                                         ("sampler_bytes_per_logit", 1e6)])
def test_profile_rejects_bad_memory_fields(field, value):
    base = engine_profiles.get("vllm-0.9.2")
    with pytest.raises(InputError, match=field):
        dataclasses.replace(base, **{field: value})


def test_the_profiled_peak_shrinks_the_batch_a_tight_device_holds():
    """Qwen3-32B in bf16 on one H100 (about 65 GB of weights): the activation peak of vLLM's start-up takes a
    large part of what the plain share would leave for KV, so the largest feasible batch falls."""
    from flopwatt import api

    def largest(engine):
        r = api.serve(api.ServeRequest(model="qwen3-32b", accelerator="h100-sxm5-80gb", devices=1, input_len=1000,
                                       output_len=1000, precision="bf16", engine=engine))
        return r.payload()["plan"]["batch_per_replica"]

    assert largest("vllm-0.9.2") < largest("vllm-0.6.0")


def test_the_profiled_peak_is_the_gpu_workers_only():
    """vLLM's CUDA and ROCm builds share the GPU worker the sampler figure was read from; a TPU (another worker)
    or a chip vLLM does not drive keeps the plain share, and the assumption line says why."""
    profile = engine_profiles.get("vllm-0.9.2")
    for gpu in ("h100-sxm5-80gb", "mi300x"):
        assert engine_memory.memory(profile, accelerator=_acc(gpu))[0].profile_tokens == 8192
    for other in ("tpu-v6e", "groq-lpu-v1"):
        held, line = engine_memory.memory(profile, accelerator=_acc(other))
        assert held == EngineMemory(share=0.9) and "devices run another" in line


def test_sglang_static_fraction_by_tp_and_by_memory_class():
    """sglang 0.4.0: mem_fraction_static 0.88 at tp 1 down to 0.81 at tp 8 (server_args.py:158-168); sglang 0.4.9:
    the device less (9.5 + tp x pp / 2) GiB on an 80 GB H100, less 32 GiB on a B200 (server_args.py:280-319)."""
    m, gib = _llama8b(), 2.0**30
    h100, b200 = _acc("h100-sxm5-80gb"), _acc("b200-sxm-180gb")
    tp = np.array([1.0, 2.0, 3.0, 8.0, 32.0])
    old, line = engine_memory.memory(engine_profiles.get("sglang-0.4.0"), accelerator=h100)
    assert np.allclose(old.kv_limit_bytes(m, h100.hbm_bytes, tp) / h100.hbm_bytes, [0.88, 0.87, 0.87, 0.81, 0.79])
    assert "mem_fraction_static" in line
    new, line = engine_memory.memory(engine_profiles.get("sglang-0.4.9"), accelerator=h100)
    got = new.kv_limit_bytes(m, h100.hbm_bytes, np.array([1.0, 8.0]), np.array([1.0, 2.0]))
    assert np.allclose(h100.hbm_bytes - got, [10.0 * gib, 17.5 * gib])
    assert "9.5 GiB + 0.5 GiB per rank" in line
    big, _ = engine_memory.memory(engine_profiles.get("sglang-0.4.9"), accelerator=b200)
    assert np.allclose(b200.hbm_bytes - big.kv_limit_bytes(m, b200.hbm_bytes, np.array([8.0])), 32.0 * gib)


@pytest.mark.parametrize("field,value", [
    ("mem_fraction_static_by_tp", [[2, 0.9]]), ("mem_fraction_static_by_tp", [[1, 0.9], [1, 0.8]]),
    ("mem_fraction_static_by_tp", [[1, 1.2]]), ("mem_fraction_static_by_tp", [[1.5, 0.9]]),
    ("mem_fraction_static_by_tp", "0.88"), ("reserved_memory_by_device_memory", [[0, -1, 0]]),
    ("reserved_memory_by_device_memory", [[0, 1, 0], [2e9, 1, 0], [1e9, 1, 0]]),
    ("reserved_memory_by_device_memory", [[1e9, 1, 0]]), ("reserved_memory_by_device_memory", [[1]])])
def test_profile_rejects_bad_static_fraction_tables(field, value):
    base = engine_profiles.get("sglang-0.4.9")
    with pytest.raises(InputError, match=field):
        dataclasses.replace(base, **{field: value})


def test_an_asked_share_replaces_the_profiles_and_reaches_every_entry_point():
    """--gpu-memory-utilization: a larger share holds a larger batch where memory binds, the assumptions say it, and a
    SGLang profile's reserve is replaced too (its mem_fraction_static as asked)."""
    from flopwatt import api

    def largest(**kw):
        r = api.serve(api.ServeRequest(model="qwen3-32b", accelerator="h100-sxm5-80gb", devices=1, input_len=1000,
                                       output_len=1000, precision="bf16", **kw)).payload()
        return r["plan"]["batch_per_replica"], r["assumptions"]

    default, _ = largest()
    more, notes = largest(gpu_memory_utilization=0.95)
    assert more > default and any("engine memory share: 0.95" in a for a in notes)
    held, _ = engine_memory.memory(engine_profiles.get("sglang-0.4.9"), accelerator=_acc("h100-sxm5-80gb"))
    asked = engine_memory.asked_share(held, 0.8)
    h100 = _acc("h100-sxm5-80gb")
    assert np.allclose(asked.kv_limit_bytes(_llama8b(), h100.hbm_bytes, np.array([1.0, 8.0])), 0.8 * h100.hbm_bytes)
