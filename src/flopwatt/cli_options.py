"""Command-line options derived from the API's request models (one definition per setting).

Each field of a request model becomes ``--field-name`` (plus the aliases its schema names); values
are passed to the model as typed, so parsing, bounds and messages are the API's. Options not given
are absent (``argparse.SUPPRESS``): the request's own default applies, and is reported.
"""

from __future__ import annotations

import argparse
import types
import typing
from pathlib import Path
from typing import Any

from flopwatt import catalog
from flopwatt.api.requests import Request, parse
from flopwatt.errors import InputError


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


def add_options(parser: argparse.ArgumentParser, cls: type[Request], *, skip: tuple[str, ...] = ()) -> None:
    """One option per field of ``cls`` (those in ``skip`` excepted)."""
    for name, info in cls.model_fields.items():
        if name in skip:
            continue
        text = info.description or ""
        if info.default is not None and not info.is_required() and not _is_bool(info.annotation):
            text += f" (default {info.default})"
        help_text = text.replace("%", "%%") or None  # argparse formats help with %
        kwargs: dict[str, Any] = {"dest": name, "default": argparse.SUPPRESS, "help": help_text}
        if _is_bool(info.annotation):
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            choices = _choices(info.annotation)
            if choices:
                kwargs["choices"] = choices
                kwargs["type"] = type(choices[0])
            kwargs["metavar"] = name.upper() if not choices else None
        parser.add_argument(*flags(name, info), **kwargs)


def given(args: argparse.Namespace, cls: type[Request]) -> dict[str, Any]:
    """The request fields set on the command line."""
    return {name: getattr(args, name) for name in cls.model_fields if hasattr(args, name)}


def cli_label(cls: type[Request]):
    """Spell a field as its command-line option in error messages."""
    def label(name: str) -> str:
        head = name.split(".", 1)[0]
        info = cls.model_fields.get(head)
        return flags(head, info)[0] if info else name
    return label


def relabel(exc: InputError, cls: type[Request]) -> InputError:
    """An InputError the API raised naming a request field, with the field spelt as its option."""
    if exc.field.split(".", 1)[0] not in cls.model_fields:
        return exc
    return InputError(cli_label(cls)(exc.field), exc.expected, exc.got, message=str(exc)[len(exc.field) + 2:])


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
    data = {}
    if config is not None:
        cfg = config_table(config, table, cls)
        parse(cls, cfg, lambda name: f"{config} [{table}].{name}")
        data.update(cfg)
    data.update(given(args, cls))
    return parse(cls, data, cli_label(cls))
