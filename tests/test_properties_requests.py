"""Properties of the typed API under random valid and invalid settings (hypothesis).

Any mix of field values given to :func:`flopwatt.api.train` / :func:`flopwatt.api.serve` (through
:func:`flopwatt.api.parse`, as every entry point does) either raises :class:`flopwatt.errors.InputError`
or returns a Result whose every number is finite. The default run draws a few dozen requests; the
``slow`` variant draws 10,000 of each: ``python -m pytest -m slow tests/test_properties_requests.py``.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flopwatt import api
from flopwatt.api.requests import ServeRequest, TrainRequest
from flopwatt.errors import InputError

BAD_NUMBERS = st.sampled_from([float("nan"), float("inf"), -float("inf"), -1, 0, 1e30, "x", "", "1e400", True,
                               None, [1], {"a": 1}])
TEXT = st.text(max_size=8) | st.sampled_from(["", "x" * 600, "nope", "../etc/passwd.json"])


def _count(low: int, high: int, bad: bool) -> st.SearchStrategy:
    """Whole numbers in range (sometimes as quantity strings); with ``bad``, sometimes anything."""
    good = st.integers(low, high)
    return st.one_of(good, good.map(str), st.integers(-10, 10**13), BAD_NUMBERS) if bad else good | good.map(str)


def _real(low: float, high: float, bad: bool) -> st.SearchStrategy:
    good = st.floats(low, high)
    return st.one_of(good, st.floats(allow_nan=True, allow_infinity=True), BAD_NUMBERS) if bad else good


def _choice(values: tuple, bad: bool) -> st.SearchStrategy:
    return st.one_of(st.sampled_from(values), TEXT) if bad else st.sampled_from(values)


def _common(bad: bool) -> dict:
    return {"site": _choice(("us-virginia", "fi-hamina", "cn-guizhou"), bad),
            "cooling": _choice(("air", "direct-liquid"), bad), "pue": _real(1.0, 2.0, bad),
            "electricity_usd_per_kwh": _real(0, 0.5, bad), "carbon_g_per_kwh": _real(0, 900, bad),
            "price_factor": _real(0.1, 3, bad)}


def _train(bad: bool) -> st.SearchStrategy:
    """Training requests: each setting given or not; with ``bad``, any of them may be anything."""
    fields = {
        **_common(bad), "model": _choice(("gpt3-1.3b", "gpt3-175b", "llama3-8b", "mixtral-8x7b"), bad),
        "accelerator": _choice(("a100-sxm4-80gb", "h100-sxm5-80gb", "v100-sxm2-32gb", "mi300x"), bad),
        "devices": _count(1, 2048, bad), "global_batch": _count(1, 4096, bad), "seq_len": _count(1, 16384, bad),
        "tokens": _real(1e6, 1e13, bad), "precision": _choice(("bf16", "fp16", "fp8", "fp32"), bad),
        "tp": _count(1, 16, bad), "pp": _count(1, 16, bad), "dp": _count(1, 256, bad),
        "micro_batch": _count(1, 8, bad), "ep": _count(1, 8, bad), "cp": _count(1, 4, bad),
        "vpp": _count(1, 4, bad), "zero": _choice((0, 1, 2, 3), bad),
        "recompute": _choice(("none", "selective", "full"), bad), "sequence_parallel": st.booleans(),
        "fabric": _choice(("fat-tree", "rail-optimized", "torus", "dragonfly"), bad),
        "oversubscription": _real(1, 4, bad), "pue_cap": _real(1, 2, bad)}
    return st.fixed_dictionaries({"advise": st.just(False)}, optional=fields)


def _serve(bad: bool) -> st.SearchStrategy:
    """Serving requests (prompt and output lengths always given)."""
    fields = {
        **_common(bad), "model": _choice(("llama2-70b", "llama3-8b", "mixtral-8x7b", "gpt3-175b"), bad),
        "accelerator": _choice(("h100-sxm5-80gb", "a100-sxm4-80gb", "mi300x", "v100-sxm2-32gb"), bad),
        "devices": _count(1, 64, bad), "precision": _choice(("bf16", "fp8", "fp4", "int8", "int4"), bad),
        "kv_precision": _choice(("bf16", "fp8"), bad), "ttft_slo_s": _real(0.01, 30, bad),
        "tpot_slo_s": _real(0.001, 1, bad), "slo_percentile": _real(1, 99.9, bad),
        "power_cap_w": _real(100, 1000, bad), "tp": _count(1, 16, bad), "ep": _count(1, 8, bad),
        "disaggregate": st.booleans(), "kv_admission": _choice(("reserve", "on-demand"), bad)}
    return st.fixed_dictionaries({"input_len": _real(1, 32768, bad), "output_len": _real(1, 4096, bad)},
                                 optional=fields)


TRAIN_REQUESTS = _train(False) | _train(True)
SERVE_REQUESTS = _serve(False) | _serve(True)


def _non_finite(value: Any, path: str = "") -> list[str]:
    """Paths of every NaN or infinite number in a payload."""
    if isinstance(value, float):
        return [] if math.isfinite(value) else [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _non_finite(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for k, v in enumerate(value) for p in _non_finite(v, f"{path}[{k}]")]
    return []


def _check(cls: type, call: Any, data: dict) -> None:
    try:
        result = call(api.parse(cls, data))
    except InputError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert result.feasible or result.reason, result
    assert not _non_finite(result.payload()), _non_finite(result.payload())


FAST = settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
SLOW = settings(max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck))


@FAST
@given(TRAIN_REQUESTS)
def test_train_answers_or_names_the_field(data):
    _check(TrainRequest, api.train, data)


@FAST
@given(SERVE_REQUESTS)
def test_serve_answers_or_names_the_field(data):
    _check(ServeRequest, api.serve, data)


@pytest.mark.slow
@SLOW
@given(TRAIN_REQUESTS)
def test_train_answers_or_names_the_field_10k(data):
    _check(TrainRequest, api.train, data)


@pytest.mark.slow
@SLOW
@given(SERVE_REQUESTS)
def test_serve_answers_or_names_the_field_10k(data):
    _check(ServeRequest, api.serve, data)
