"""What `flopwatt train` loads at start, and the parsed-catalog cache (issue 22: the CLI process's start).

No timing here (bench/bench_cli.py measures it): these tests check the causes — modules and request models
a training estimate does not need stay unloaded, and the catalog cache is never stale and never required.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from flopwatt import catalog

TRAIN = ["train", "--model", "gpt3-175b", "--accelerator", "a100-sxm4-80gb", "--devices", "256", "--tp", "8",
         "--pp", "8", "--global-batch", "256", "--seq-len", "2048", "--tokens", "1e9", "--no-advise", "--json"]

NOT_FOR_TRAIN = ("flopwatt.serve", "flopwatt.serve_cost", "flopwatt.api.serving", "flopwatt.search",
                 "flopwatt.report.html", "flopwatt.server", "flopwatt.validate", "flopwatt.fleet", "flopwatt.capacity",
                 "flopwatt.calibrate", "flopwatt.cli_serve", "flopwatt.cli_plan", "flopwatt.cli_fleet",
                 "flopwatt.cli_capacity", "flopwatt.cli_calibrate", "fastapi", "pyarrow", "matplotlib")

PROBE = """
import contextlib, io, json, sys
from flopwatt.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    code = main(json.loads(sys.argv[1]))
built = None
if "flopwatt.api.requests" in sys.modules:
    import pydantic
    import flopwatt.api.requests as requests
    built = sorted(n for n, c in vars(requests).items() if isinstance(c, type) and issubclass(c, pydantic.BaseModel)
                   and c.__module__ == requests.__name__ and c.__pydantic_complete__)
print(json.dumps({"code": code, "modules": sorted(sys.modules), "built": built, "out": out.getvalue()}))
"""


def _probe(argv: list[str], tmp_path: Path) -> dict:
    env = {**os.environ, catalog.CACHE_ENV: str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argv)], capture_output=True, text=True, env=env,
                          check=True, timeout=300)
    return json.loads(done.stdout)


def _loaded(found: dict, names: tuple[str, ...]) -> list[str]:
    return [m for m in found["modules"] if any(m == n or m.startswith(n + ".") for n in names)]


def test_train_loads_neither_other_commands_nor_their_request_models(tmp_path):
    found = _probe(TRAIN, tmp_path)
    assert found["code"] == 0 and json.loads(found["out"])["kind"] == "train"
    assert _loaded(found, NOT_FOR_TRAIN) == []
    # a cold cache: the request spec is read off the models (no validator is built) and the catalog files are
    # parsed, then both are kept
    assert found["built"] == []
    assert "tomllib" in found["modules"]
    warm = _probe(TRAIN, tmp_path)
    assert warm["out"] == found["out"] and "tomllib" not in warm["modules"]
    # warm: the options and their checks come from the cache, the result is plain JSON: no pydantic at all
    assert _loaded(warm, ("pydantic", "pydantic_core", "flopwatt.api.requests", "flopwatt.api.results")) == []


def test_a_value_the_cached_rules_do_not_settle_goes_through_the_model(tmp_path):
    """--rails has no converter (the model parses the text): the request model validates it, same numbers."""
    found = _probe([*TRAIN, "--fabric", "rail-optimized", "--rails", "8"], tmp_path)
    assert found["code"] == 0 and found["built"] == ["TrainRequest"]
    warm = _probe([*TRAIN, "--fabric", "rail-optimized", "--rails", "8"], tmp_path)
    assert warm["out"] == found["out"] and warm["built"] == ["TrainRequest"]


def test_plan_search_defaults_are_what_validation_gives():
    """PlanSearchRequest's table defaults are made without validation (no validator built at import): they
    must equal validated ones, and a request without those tables gets them."""
    from flopwatt.api.requests import PlanSearchRequest

    for name, info in PlanSearchRequest.model_fields.items():
        if name != "workload":
            default = info.default
            assert default == type(default)() and default.model_dump() == type(default)().model_dump()
    req = PlanSearchRequest.model_validate({"workload": {"model": "gpt3-175b", "tokens": "1T"}})
    assert req.menu.model_dump()["accelerators"] == [type(req.menu)().accelerators[0]]


def test_a_single_command_parser_parses_like_the_whole_one():
    from flopwatt.cli import SUBCOMMANDS, build_parser

    whole = build_parser()
    assert list(next(a for a in whole._actions if a.dest == "command").choices) == list(SUBCOMMANDS)
    for argv in (TRAIN, ["fabric", "compare", "--endpoints", "1024", "--topology", "fat-tree,dragonfly"],
                 ["reliability", "--devices", "1024", "--days", "30"], ["catalog", "models"]):
        assert vars(build_parser(argv[0]).parse_args(argv)) == vars(whole.parse_args(argv))


def _builtin_files() -> list[str]:
    return sorted(p.name for p in resources.files("flopwatt.catalog").iterdir() if p.name.endswith(".toml"))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(catalog.CACHE_ENV, str(folder))
    return folder


def test_cached_catalog_equals_the_parsed_toml_value_for_value(cache):
    for name in _builtin_files():
        text = resources.files("flopwatt.catalog").joinpath(name).read_text(encoding="utf-8")
        expected = tomllib.loads(text)
        assert catalog.parse_cached(name, text) == expected  # miss: parsed and stored
        hit = catalog.parse_cached(name, text)
        assert hit == expected and json.dumps(hit) == json.dumps(expected)  # same types (1 vs 1.0, bools)
    assert len(list(cache.glob("catalog-*.json"))) == len(_builtin_files())


def test_a_cache_hit_does_not_parse(cache, monkeypatch):
    text = 'a = 1\n[b]\nc = "x"\n'
    catalog.parse_cached("t.toml", text)

    def no_parse(_text):
        raise AssertionError("parsed although cached")

    monkeypatch.setattr(tomllib, "loads", no_parse)
    assert catalog.parse_cached("t.toml", text) == {"a": 1, "b": {"c": "x"}}


def test_an_edited_file_is_never_read_from_the_cache(cache):
    old, new = "x = 1.5\n", "x = 2.5\n"
    assert catalog.parse_cached("t.toml", old) == {"x": 1.5}
    assert catalog.parse_cached("t.toml", new) == {"x": 2.5}
    assert catalog.parse_cached("t.toml", old) == {"x": 1.5}  # and back
    assert len(list(cache.glob("catalog-t.toml-*.json"))) == 1  # older entries of the file are dropped


def test_a_damaged_or_foreign_entry_is_parsed_again(cache):
    text = "x = 1\n"
    catalog.parse_cached("t.toml", text)
    (entry,) = cache.glob("catalog-t.toml-*.json")
    for damage in ("{not json", json.dumps({"sha256": "0" * 64, "data": {"x": 99}}), '{"data": []}', ""):
        entry.write_text(damage, encoding="utf-8")
        assert catalog.parse_cached("t.toml", text) == {"x": 1}


@pytest.mark.parametrize("value", ["nan", "inf", "1979-05-27", "07:32:00"])
def test_values_json_would_not_keep_are_not_stored(cache, value):
    text = f"x = {value}\n"
    assert json.dumps(catalog.parse_cached("t.toml", text), default=str) == json.dumps(tomllib.loads(text),
                                                                                       default=str)
    assert not cache.exists() or not list(cache.glob("catalog-*.json"))


def test_an_unwritable_cache_only_costs_the_parse(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv(catalog.CACHE_ENV, str(blocker / "cache"))  # a file in the way: even root cannot write
    assert catalog.parse_cached("t.toml", "x = 1\n") == {"x": 1}
    assert catalog.parse_cached("t.toml", "x = 2\n") == {"x": 2}
    if os.geteuid() != 0:  # a read-only directory (root writes anyway)
        readonly = tmp_path / "ro"
        readonly.mkdir(mode=0o555)
        monkeypatch.setenv(catalog.CACHE_ENV, str(readonly))
        assert catalog.parse_cached("t.toml", "x = 3\n") == {"x": 3}
        assert not list(readonly.iterdir())


def test_an_empty_cache_setting_turns_the_cache_off(tmp_path, monkeypatch):
    monkeypatch.setenv(catalog.CACHE_ENV, "")
    monkeypatch.chdir(tmp_path)
    assert catalog.cache_dir() is None
    assert catalog.parse_cached("t.toml", "x = 1\n") == {"x": 1}
    assert not list(tmp_path.iterdir())


def test_the_cli_gives_the_same_numbers_with_a_cold_a_warm_and_no_cache(tmp_path):
    outputs = []
    for setting in (str(tmp_path / "c"), str(tmp_path / "c"), ""):
        env = {**os.environ, catalog.CACHE_ENV: setting}
        done = subprocess.run([sys.executable, "-m", "flopwatt", *TRAIN], capture_output=True, text=True, env=env,
                              check=True, timeout=300)
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1] == outputs[2]
    assert list((tmp_path / "c").glob("catalog-accelerators.toml-*.json"))


def test_the_default_cache_dir_follows_xdg_and_needs_a_home(monkeypatch, tmp_path):
    monkeypatch.delenv(catalog.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert catalog.cache_dir() == tmp_path / "flopwatt"
    monkeypatch.delenv("XDG_CACHE_HOME")

    def no_home():
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    assert catalog.cache_dir() is None
    assert catalog.parse_cached("t.toml", "x = 1\n") == {"x": 1}


def test_the_cache_digest_is_sha256():
    """parse_cache uses CPython's built-in SHA-256 where there is one (no OpenSSL load): the same digest."""
    import hashlib

    from flopwatt.catalog import parse_cache

    for text in (b"", b"x = 1\n", "é".encode() * 1000):
        assert parse_cache.sha256(text).hexdigest() == hashlib.sha256(text).hexdigest()
