"""A request model's fields as plain data, and a check of given values against it that needs no pydantic.

The request models (:mod:`flopwatt.api.requests`, built from :mod:`flopwatt.api.fields`) stay the one
definition of every setting; :func:`field_rules` reads each field's type, converter (the annotated types'
BeforeValidators, :data:`flopwatt.api.defaults.CONVERTERS`), bounds and default off the model, as JSON. The
CLI keeps that JSON in the parsed-file cache (:func:`cached_spec`, keyed by the text of every module the
models are built from and pydantic's version) and checks a command line with :func:`validate` without
importing pydantic (~0.1 s of a process start).

:func:`validate` only answers where the model's validation is certain to give the same values: a value that
is already of its field's type after its converter, within its bounds. Anything else (a converter's error, a
value out of bounds, a field with a validator or a type it does not know) answers None, and the caller
validates with the model, which gives the values or the error message. tests/test_request_spec.py checks
that both agree.
"""

from __future__ import annotations

import json
import math
import sys
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from flopwatt.api.defaults import CONVERTERS

SPEC_FORMAT = "1"
SOURCES = ("api/requests.py", "api/fields.py", "api/defaults.py", "api/request_spec.py", "cli_options.py",
           "catalog/engine_profiles.py", "units.py")
"""The modules (under src/flopwatt) a request spec is a function of: the models, their types, converters and
defaults, this reader, and the CLI's option builder."""
_BOUNDS = {"ge": lambda v, b: v >= b, "gt": lambda v, b: v > b, "le": lambda v, b: v <= b, "lt": lambda v, b: v < b}
_KINDS = {int: "int", float: "float", str: "str", bool: "bool"}


def _spec_key() -> str:
    """The text a cached spec is valid for: the sources and pydantic's version file (read, not imported)."""
    root = Path(__file__).resolve().parent.parent
    parts = [SPEC_FORMAT, sys.version]
    parts += [(root / name).read_text(encoding="utf-8") for name in SOURCES]
    pydantic = find_spec("pydantic")
    locations = pydantic.submodule_search_locations if pydantic is not None else None
    parts.append(Path(locations[0], "version.py").read_text(encoding="utf-8") if locations else "no pydantic")
    return "\0".join(parts)


def cached_spec(name: str, build) -> dict[str, Any]:
    """``build()`` (a request's spec as JSON) from the parsed-file cache, built on a miss (or with no cache)."""
    from flopwatt.catalog.parse_cache import cached_json

    try:
        key = _spec_key()
    except OSError:  # a source not readable (a zipped install): no cache
        return build()
    return cached_json(f"request-spec-{name}", key, build)


# --- reading the model (imports pydantic; run on a cache miss only)

def _constraints(items, rule: dict[str, Any]) -> bool:
    """Fold annotated metadata (converters, bounds, lengths) into ``rule``; False on anything else."""
    import annotated_types as at
    from pydantic.fields import FieldInfo
    from pydantic.functional_validators import BeforeValidator

    names = {id(f): n for n, f in CONVERTERS.items()}
    simple = {at.Ge: "ge", at.Gt: "gt", at.Le: "le", at.Lt: "lt", at.MinLen: "min_length", at.MaxLen: "max_length"}
    for item in items:
        if isinstance(item, FieldInfo):
            if not _constraints(item.metadata, rule):
                return False
        elif isinstance(item, BeforeValidator) and id(item.func) in names and "convert" not in rule:
            rule["convert"] = names[id(item.func)]
        elif type(item) in simple:
            rule[simple[type(item)]] = getattr(item, simple[type(item)])
        else:
            return False
    return True


def _base_type(annotation, rule: dict[str, Any]) -> bool:
    """Set kind (and choices, converters, bounds inside an Optional's Annotated) from ``annotation``."""
    import types
    import typing

    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) != 1 or len(args) == len(typing.get_args(annotation)):
            return False
        rule["nullable"] = True
        return _base_type(args[0], rule)
    if origin is typing.Annotated:
        inner, *meta = typing.get_args(annotation)
        return _constraints(meta, rule) and _base_type(inner, rule)
    if origin is typing.Literal:
        values = list(typing.get_args(annotation))
        if not all(type(v) in (str, int) for v in values):
            return False
        rule["kind"], rule["choices"] = "literal", values
        return True
    if annotation in _KINDS:
        rule["kind"] = _KINDS[annotation]
        return True
    return False


def _json_exact(value: Any) -> bool:
    try:
        back = json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError):
        return False
    return back == value and type(back) is type(value)


def field_rules(cls) -> dict[str, Any]:
    """Per field of the pydantic model ``cls``: kind, nullable, converter, bounds, choices, default, and whether
    :func:`validate` may check it (``fast``); ``fast`` at the top: whether every default is exact JSON (the
    values of fields not given) and the model has no model-level validator."""
    decorators = cls.__pydantic_decorators__
    checked = {name for d in decorators.field_validators.values() for name in d.info.fields}
    rules, fast = {}, not decorators.model_validators and not decorators.root_validators
    for name, info in cls.model_fields.items():
        rule: dict[str, Any] = {"nullable": False}
        known = _base_type(info.annotation, rule) and _constraints(info.metadata, rule)
        rule["fast"] = known and name not in checked and "*" not in checked
        if info.is_required() or info.default_factory is not None or not _json_exact(info.default):
            fast = False
        else:
            rule["default"] = info.default
        rules[name] = rule
    return {"fast": fast, "fields": rules}


# --- checking values (no pydantic)

class _Unsure(Exception):
    """The model's validation must decide (it gives the value or the error)."""


def _check(rule: dict[str, Any], value: Any) -> Any:
    if not rule["fast"]:
        raise _Unsure
    if value is None:
        if rule["nullable"]:
            return None
        raise _Unsure
    if "convert" in rule:
        try:
            value = CONVERTERS[rule["convert"]](value)
        except ValueError:
            raise _Unsure from None
    kind = rule["kind"]
    if kind == "literal":
        if not any(type(value) is type(c) and value == c for c in rule["choices"]):
            raise _Unsure
    elif type(value) is not {"int": int, "float": float, "str": str, "bool": bool}[kind] or (
            kind == "float" and not math.isfinite(value)):
        raise _Unsure
    size = len(value) if kind == "str" else None
    for bound, holds in _BOUNDS.items():
        if bound in rule and (kind not in ("int", "float") or not holds(value, rule[bound])):
            raise _Unsure
    if ("min_length" in rule and (size is None or size < rule["min_length"])) or (
            "max_length" in rule and (size is None or size > rule["max_length"])):
        raise _Unsure
    return value


def validate(spec: dict[str, Any], given: dict[str, Any]) -> Validated | None:
    """The request of ``given`` values where the model's validation surely gives the same (module doc), else
    None."""
    rules = spec["fields"]
    if not spec["fast"] or not set(given) <= set(rules):
        return None
    try:
        checked = {name: _check(rules[name], value) for name, value in given.items()}
    except _Unsure:
        return None
    return Validated({name: rule["default"] for name, rule in rules.items()} | checked, frozenset(given))


class Validated:
    """A request's values as attributes (what :func:`flopwatt.api.train` reads of a request model), with the
    names set explicitly in ``model_fields_set`` as a model has them. Read-only."""

    __slots__ = ("_values", "model_fields_set")

    def __init__(self, values: dict[str, Any], given: frozenset[str]) -> None:
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "model_fields_set", given)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")
