"""The CLI's pydantic-free path (issue 22): the cached request spec checks options exactly as the request model
validates them (or defers to it), its options are the model's, and a plain Outcome prints as its Result."""

from __future__ import annotations

import argparse
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flopwatt import api, cli, cli_options
from flopwatt.api import request_spec
from flopwatt.api.outcome import Outcome
from flopwatt.api.requests import FabricRequest, ReliabilityRequest, TrainRequest
from flopwatt.api.results import Result, from_outcome
from flopwatt.api.training import train_outcome
from flopwatt.errors import InputError

SPEC = json.loads(json.dumps({"options": cli_options.option_specs(TrainRequest),
                              **request_spec.field_rules(TrainRequest)}))
"""TrainRequest's spec as the cache keeps it (through JSON)."""

NUMBERS = st.one_of(st.sampled_from(["1", "8", "0", "-3", "1e12", "300e9", "15T", "1.5K", "2.5", "1_024", " 16 ",
                                     "inf", "nan", "1e400", "x", "", "0x10", "64", "1e7", "10000001", "1e18",
                                     "1.0000000001e18", "100"]),
                    st.integers(-5, 10**8).map(str), st.integers(1, 64).map(str), st.integers(1, 8).map(str),
                    st.floats(allow_nan=True).map(repr), st.floats(1, 9.99).map(repr))


def _value(rule: dict):
    """Values of a field as the command line hands them over (text, or typed by argparse's choices/flags)."""
    if rule.get("kind") == "bool":
        return st.booleans()
    if rule.get("kind") == "literal":
        return st.sampled_from(rule["choices"])
    if rule.get("kind") == "str":
        return st.one_of(st.text(max_size=6), st.sampled_from(["llama3-70b", "x" * 128, "x" * 129, "x" * 513, ""]))
    return NUMBERS


@st.composite
def option_sets(draw):
    names = draw(st.lists(st.sampled_from(sorted(SPEC["fields"])), max_size=4, unique=True))
    return {name: draw(_value(SPEC["fields"][name])) for name in names}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(option_sets())
def test_the_cached_rules_give_the_models_values_or_defer(given_values):
    fast = request_spec.validate(SPEC, given_values)
    try:
        model = TrainRequest.model_validate(given_values)
    except Exception:  # the model refuses: the rules must not have accepted it
        assert fast is None
        return
    if fast is None:
        return
    assert fast.model_fields_set == model.model_fields_set
    for name in TrainRequest.model_fields:
        mine, theirs = getattr(fast, name), getattr(model, name)
        assert type(mine) is type(theirs) and mine == theirs, name


def test_the_rules_accept_a_typical_command_line_and_defer_what_they_do_not_settle():
    typical = {"model": "llama3-70b", "devices": "1000", "global_batch": "1K", "tokens": "1e12", "tp": "8",
               "recompute": "full", "zero": 1, "advise": False, "price_factor": "1.5", "fabric": "fat-tree"}
    assert request_spec.validate(SPEC, typical) is not None
    for odd in ({"rails": "8"}, {"dragonfly": "4,8,4"}, {"devices": "0"}, {"tokens": "inf"}, {"tp": "2.5"},
                {"model": ""}, {"nonsense": 1}):
        assert request_spec.validate(SPEC, odd) is None, odd


def test_models_with_validators_on_every_path_are_not_fast():
    assert not request_spec.field_rules(FabricRequest)["fields"]["dragonfly"]["fast"]
    assert request_spec.field_rules(ReliabilityRequest)["fast"] is False  # required fields have no default


def _describe(parser: argparse.ArgumentParser) -> list[tuple]:
    return [(a.option_strings, a.dest, a.default, a.help, a.choices, a.type, a.metavar, type(a).__name__)
            for a in parser._actions]


def test_options_from_the_spec_are_the_models():
    from_spec, from_model = argparse.ArgumentParser(), argparse.ArgumentParser()
    cli_options.add_spec_options(from_spec, SPEC["options"])
    cli_options.add_options(from_model, TrainRequest)
    assert _describe(from_spec) == _describe(from_model)
    assert from_spec.format_help() == from_model.format_help()


def test_the_cached_spec_is_rebuilt_from_the_models(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOPWATT_CACHE_DIR", str(tmp_path))
    assert cli_options.command_spec("TrainRequest") == SPEC  # a miss: built and stored
    assert list(tmp_path.glob("request-spec-TrainRequest-*.json"))
    assert cli_options.command_spec("TrainRequest") == SPEC  # a hit


TRAIN_CASES = [
    {"model": "llama3-8b", "devices": 64, "global_batch": 128, "tokens": 1e10},
    {"model": "llama3-70b", "devices": 1000, "global_batch": 2000, "tokens": 1e12, "fabric": "fat-tree"},
    {"model": "gpt3-175b", "devices": 8, "global_batch": 8, "tokens": 1e9},  # no feasible plan
    {"model": "mixtral-8x7b", "devices": 512, "global_batch": 1024, "tokens": 1e12, "advise": False},
]


@pytest.mark.parametrize("body", TRAIN_CASES)
def test_a_plain_outcome_prints_as_its_result(body):
    found = train_outcome(TrainRequest(**body))
    result = api.train(TrainRequest(**body))
    assert found.plain() is not None
    assert json.dumps(found.plain()) == json.dumps(result.payload())
    assert result == from_outcome(found)


def test_an_outcome_that_is_not_plain_json_goes_through_the_result():
    base = {"kind": "train", "inputs": {"a": (1, 2)}, "feasible": True, "plans_evaluated": 1, "plans_feasible": 1}
    assert Outcome(**base).plain() == Result(**base).payload()  # a tuple is a list either way
    for odd in ({"time": {"x": 1}}, {"metrics": {"m": math.inf}}, {"inputs": {"a": math.nan}},
                {"plans_evaluated": True}, {"plan": {1: 2}}):
        assert Outcome(**{**base, **odd}).plain() is None, odd


@pytest.mark.parametrize("extra", [[], ["--rails", "8", "--fabric", "rail-optimized"], ["--no-advise", "--tp", "2"]])
def test_the_cli_gives_the_same_output_with_and_without_the_cached_rules(extra, monkeypatch):
    argv = ["train", "--model", "llama3-8b", "--devices", "64", "--global-batch", "128", "--tokens", "1e10",
            "--json", *extra]
    fast = cli.run_command(argv)
    monkeypatch.setattr(request_spec, "validate", lambda spec, given_values: None)  # always the model
    assert cli.run_command(argv) == fast


def test_an_api_error_names_the_option_on_both_paths(monkeypatch):
    argv = ["train", "--model", "gpt3-175b", "--devices", "64", "--ep", "2", "--json"]
    with pytest.raises(InputError) as fast:
        cli.run_command(argv)
    monkeypatch.setattr(request_spec, "validate", lambda spec, given_values: None)
    with pytest.raises(InputError) as slow:
        cli.run_command(argv)
    assert str(fast.value) == str(slow.value) and str(fast.value).startswith("--ep:")
