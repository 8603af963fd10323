"""Command-line options derived from the API's request models (one definition per setting).

Each field of a request model becomes ``--field-name`` (plus the aliases its schema names); values
are passed to the model as typed, so parsing, bounds and messages are the API's. Options not given
are absent (``argparse.SUPPRESS``): the request's own default applies, and is reported.

The options are plain data (:func:`option_specs`), so a command can keep them, with the model's field rules
(:mod:`flopwatt.api.request_spec`), in the parsed-file cache (:func:`command_spec`) and start without pydantic.
"""

from __future__ import annotations

import argparse
import types
import typing
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flopwatt import catalog
from flopwatt.errors import InputError

if TYPE_CHECKING:
    from flopwatt.api.requests import Request


def flags(name: str, info: Any) -> list[str]:
    """The option strings of one field: its name and its aliases, hyphenated."""
    extra = info.json_schema_extra or {}
    return ["--" + name.replace("_", "-")] + [f"--{a}" for a in extra.get("aliases", [])]


def _choices(annotation: Any) -> tuple | None:
    """The values of a Literal (possibly inside ``X | None``), else None."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _choices(arg)
            if found:
                return found
        return None
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)
    if typing.get_origin(annotation) is typing.Annotated:  # a Literal with validators
        return _choices(typing.get_args(annotation)[0])
    return None


def _is_bool(annotation: Any) -> bool:
    return annotation is bool or (typing.get_origin(annotation) in (typing.Union, types.UnionType)
                                  and bool in typing.get_args(annotation))


def option_specs(cls: type[Request], *, skip: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Per field of ``cls`` (those in ``skip`` excepted): its option strings and argparse arguments, as JSON."""
    out = []
    for name, info in cls.model_fields.items():
        if name in skip:
            continue
        text = info.description or ""
        if info.default is not None and not info.is_required() and not _is_bool(info.annotation):
            text += f" (default {info.default})"
        help_text = text.replace("%", "%%") or None  # argparse formats help with %
        kwargs: dict[str, Any] = {"dest": name, "help": help_text}
        if _is_bool(info.annotation):
            kwargs["action"] = "bool"
        else:
            choices = _choices(info.annotation)
            if choices:
                kwargs["choices"] = list(choices)
                kwargs["type"] = type(choices[0]).__name__
            kwargs["metavar"] = name.upper() if not choices else None
        out.append({"flags": flags(name, info), "kwargs": kwargs})
    return out


_TYPES = {"str": str, "int": int}


class _StoreOnce(argparse.Action):
    """Store an option's value, refusing a second occurrence: argparse would keep the last one silently
    (``--accelerator a --accelerator b`` meaning only b). A list field takes comma-separated values once."""

    def __call__(self, parser, namespace, values, option_string=None):
        if getattr(namespace, self.dest, argparse.SUPPRESS) is not argparse.SUPPRESS:
            parser.error(f"{option_string}: given more than once; expected it once "
                         "(a list field takes comma-separated values: a,b,c)")
        setattr(namespace, self.dest, values)


def add_spec_options(parser: argparse.ArgumentParser, specs: list[dict[str, Any]]) -> None:
    """The options of :func:`option_specs` (not given: absent, so the request's default applies)."""
    for spec in specs:
        kwargs = dict(spec["kwargs"], default=argparse.SUPPRESS)
        if kwargs.get("action") == "bool":
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs["action"] = _StoreOnce
        if "choices" in kwargs:
            kwargs["choices"] = tuple(kwargs["choices"])
            kwargs["type"] = _TYPES[kwargs["type"]]
        parser.add_argument(*spec["flags"], **kwargs)


def add_options(parser: argparse.ArgumentParser, cls: type[Request], *, skip: tuple[str, ...] = ()) -> None:
    """One option per field of ``cls`` (those in ``skip`` excepted)."""
    add_spec_options(parser, option_specs(cls, skip=skip))


def command_spec(name: str) -> dict[str, Any]:
    """The options (:func:`option_specs`) and field rules (:func:`flopwatt.api.request_spec.field_rules`) of the
    request model ``name``, from the parsed-file cache: no pydantic import once cached."""
    from flopwatt.api.request_spec import cached_spec

    def build() -> dict[str, Any]:
        from flopwatt.api import requests
        from flopwatt.api.request_spec import field_rules

        cls = getattr(requests, name)
        return {"options": option_specs(cls), **field_rules(cls)}

    return cached_spec(name, build)


def given(args: argparse.Namespace, cls: type[Request] | Collection[str]) -> dict[str, Any]:
    """The request fields (of a model, or named) set on the command line."""
    names = cls.model_fields if isinstance(cls, type) else cls
    return {name: getattr(args, name) for name in names if hasattr(args, name)}


def cli_label(cls: type[Request]):
    """Spell a field as its command-line option in error messages."""
    def label(name: str) -> str:
        head = name.split(".", 1)[0]
        info = cls.model_fields.get(head)
        return flags(head, info)[0] if info else name
    return label


def relabel(exc: InputError, cls: type[Request] | Collection[str]) -> InputError:
    """An InputError the API raised naming a request field (of a model, or named), with the field spelt as its
    option (its first option string: ``--`` and the name hyphenated, :func:`flags`)."""
    names = cls.model_fields if isinstance(cls, type) else cls
    head = exc.field.split(".", 1)[0]
    if head not in names:
        return exc
    label = "--" + head.replace("_", "-")  # as cli_label spells it
    return InputError(label, exc.expected, exc.got, message=str(exc)[len(exc.field) + 2:])


def config_table(path: Path, table: str, cls: type[Request]) -> dict[str, Any]:
    """The ``[table]`` of a TOML config, keys as the request's field names (hyphens allowed)."""
    data = catalog.read_toml(path, "--config")
    if set(data) != {table} or not isinstance(data[table], dict):
        raise InputError(f"{path}", f"a single [{table}] table")
    out = {}
    for key, value in data[table].items():
        name = key.replace("-", "_")
        if name not in cls.model_fields:
            raise InputError(f"{path} [{table}].{key}", f"one of {', '.join(cls.model_fields)}",
                             message=f"unknown key; expected one of {', '.join(cls.model_fields)}")
        out[name] = value
    return out


def request(cls: type[Request], args: argparse.Namespace, config: Path | None = None, table: str = "") -> Request:
    """The request of a command: the config's table, then the command line on top (flags win)."""
    from flopwatt.api.requests import parse

    data = {}
    if config is not None:
        cfg = config_table(config, table, cls)
        parse(cls, cfg, lambda name: f"{config} [{table}].{name}")
        data.update(cfg)
    data.update(given(args, cls))
    return parse(cls, data, cli_label(cls))
