"""Request sets added to catalog/datasets.toml for the held-out serving rows: they load, their moments
are those of a real sample (variances and correlations possible), and their keywords route runs to them."""

from __future__ import annotations

import math

import pytest

from flopwatt import catalog

NEW_SETS = ("mlperf-deepseek-r1", "mlperf-llama3.1-8b-cnndm", "sharegpt-v3-whole-conversations",
            "arxiv-summarization-4k", "mlperf-gpt-oss-120b")


@pytest.mark.parametrize("set_id", NEW_SETS)
def test_new_request_set_loads_sourced(set_id):
    entry = catalog.serving_datasets()[set_id]
    assert entry.keywords and entry.mean_input_tokens > 0 and entry.mean_output_tokens > 0
    assert len(entry.source) > 200 and entry.retrieved in {"2026-12-06", "2026-12-07"}


@pytest.mark.parametrize("set_id", NEW_SETS)
def test_moments_are_those_of_a_sample(set_id):
    """E[x^2] >= E[x]^2 (a variance is not negative) and |corr(in, out)| <= 1 where the moments exist."""
    e = catalog.serving_datasets()[set_id]
    if e.mean_input_sq_tokens2 is not None:
        assert e.mean_input_sq_tokens2 >= e.mean_input_tokens ** 2
    if e.mean_output_sq_tokens2 is not None:
        assert e.mean_output_sq_tokens2 >= e.mean_output_tokens ** 2
    if None not in (e.mean_input_sq_tokens2, e.mean_output_sq_tokens2, e.mean_input_output_tokens2):
        cov = e.mean_input_output_tokens2 - e.mean_input_tokens * e.mean_output_tokens
        var_in = e.mean_input_sq_tokens2 - e.mean_input_tokens ** 2
        var_out = e.mean_output_sq_tokens2 - e.mean_output_tokens ** 2
        assert abs(cov) <= math.sqrt(var_in * var_out)


def test_mlperf_sets_are_found_by_suite_and_model():
    assert catalog.serving_dataset("mlperf-inference", "deepseek-r1").id == "mlperf-deepseek-r1"
    assert catalog.serving_dataset("mlperf-inference", "llama3.1-8b").id == "mlperf-llama3.1-8b-cnndm"
    assert catalog.serving_dataset("mlperf-inference", "gpt-oss-120b").id == "mlperf-gpt-oss-120b"
    # sets outside a benchmark suite are never picked for a row: a run must name its lengths
    assert catalog.serving_dataset("mlperf-inference", "llama2-7b") is None


def test_gpt_oss_set_is_the_performance_set_of_the_reference():
    """mlperf-gpt-oss-120b: the performance-mode set (mean prompt 5011 from the v4 dataset's ISL figure, far above
    the accuracy set's 515), the reference mean output 1278.20 of the README and TEST09, the 10240-token
    performance cap, and an output spread whose CV is the one measured in TEST09 (0.2101, 288.72 / 1373.90)."""
    e = catalog.serving_datasets()["mlperf-gpt-oss-120b"]
    assert catalog.model_by_name(e.model).id == e.model == "gpt-oss-120b"
    assert e.mean_input_tokens == 5011.0 and e.mean_output_tokens == pytest.approx(1278.20, abs=1e-9)
    assert e.max_output_tokens == 10240 > e.mean_output_tokens
    cv = math.sqrt(e.mean_output_sq_tokens2 / e.mean_output_tokens ** 2 - 1)
    assert cv == pytest.approx(288.72 / 1373.90, rel=1e-4)
    assert e.mean_input_sq_tokens2 is None and e.mean_input_output_tokens2 is None  # not published: unknown
