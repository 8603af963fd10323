"""Serving-engine profiles (engines.toml): documented defaults per engine release.

Kept out of ``flopwatt.catalog.__init__`` so the catalog's lookups stay unchanged; wire it in there
(``get("engines", id)``) when the serving model starts reading the profiles.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from flopwatt.catalog import check_keys, read_toml
from flopwatt.errors import InputError
from flopwatt.specs.engine import EngineProfile

FILENAME = "engines.toml"


def _profile(entry_id: str, entry: Any) -> EngineProfile:
    owner = f"engine {entry_id}"
    if not isinstance(entry, dict):
        raise InputError(owner, "a table of profile fields", entry)
    check_keys(owner, entry, EngineProfile)
    if "id" in entry:
        raise InputError(f"{owner}.id", "no id key (the table name is the id)", entry["id"])
    try:
        return EngineProfile(id=entry_id, **entry)
    except TypeError as exc:  # a key of the wrong kind reaches the constructor
        raise InputError(owner, f"fields of the right types ({exc})") from exc


def load(path: Path | str = FILENAME) -> dict[str, EngineProfile]:
    """Every profile of an engines TOML file (the shipped one by default), with exact keys."""
    data = read_toml(path, f"catalog {path}")
    return {entry_id: _profile(entry_id, entry) for entry_id, entry in data.items()}


@functools.cache
def engines() -> dict[str, EngineProfile]:
    """The shipped engine profiles, by id."""
    return load(FILENAME)
