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


def test_serve_takes_a_catalog_request_set_with_its_spread_and_cap():
    """api.serve(dataset=...): the set's mean prompt, its output CV and cap; output_len rescales the outputs to a
    generated mean; with a finite run the spread lengthens the drain (whole run below the steady state)."""
    from flopwatt import api

    base = dict(model="llama2-70b", accelerator="h100-sxm5-80gb", devices=8, dataset="mlperf-llama2-70b-openorca")
    out = api.serve(api.ServeRequest(**base, output_len=294.45))
    entry = catalog.serving_datasets()["mlperf-llama2-70b-openorca"]
    assert out.inputs["input_len"] == pytest.approx(entry.mean_input_tokens)
    assert out.inputs["output_len"] == pytest.approx(294.45)
    cv = math.sqrt(entry.mean_output_sq_tokens2 / entry.mean_output_tokens ** 2 - 1)
    assert out.details["lengths"]["output_cv"] == pytest.approx(cv)
    run = api.serve(api.ServeRequest(**base, output_len=294.45, prompts=3000))
    assert run.metrics["run_share"] < 0.95
    assert run.metrics["output_tokens_per_s"] < out.metrics["output_tokens_per_s"]


@pytest.mark.parametrize("extra, field", [({"dataset": "no-such-set"}, "dataset"),
                                          ({"input_len": 100.0}, "dataset"),
                                          ({"output_len": 5000.0}, "output_len")])
def test_a_request_set_used_wrongly_is_one_input_error(extra, field):
    from flopwatt import api
    from flopwatt.errors import InputError

    req = {"model": "llama2-70b", "accelerator": "h100-sxm5-80gb", "devices": 8,
           "dataset": "mlperf-llama2-70b-openorca", **extra}
    with pytest.raises(InputError) as err:
        api.serve(api.ServeRequest(**req))
    assert err.value.field == field


def test_catalog_lists_request_sets_as_a_kind():
    assert "datasets" in catalog.KINDS
    assert catalog.get("datasets", "mlperf-mixtral-8x7b").max_output_tokens == 1024
