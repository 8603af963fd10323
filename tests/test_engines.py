"""Engine profiles (catalog/engines.toml): exact keys, sources, bounds, and clear errors on bad input."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flopwatt.catalog import engines as engine_catalog
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
