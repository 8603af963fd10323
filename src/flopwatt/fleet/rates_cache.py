"""The training throughput matrix kept across runs (issue 22): 160 plan searches of the Philly example
(4 classes x 4 systems x 10 device counts) took about 2.5 s of every ``flopwatt fleet`` run.

The entry (:mod:`flopwatt.fleet.trace_cache`'s storage: raw ``.npz``, atomic, in the catalog's cache
directory) is named by a digest of everything the matrix is computed from: the classes and systems
value by value (dataclasses field by field, arrays by their bytes), the device counts, and the text of
every Python and data file of the installed flopwatt package (so any change of a model, a catalog
entry or this code gives another name), with the Python and numpy versions. With a user catalog
overlay (``FLOPWATT_CATALOG`` or ``--catalog``) nothing is cached. A value of a type not listed in
:func:`_frozen` turns the cache off for that call rather than risk two inputs sharing a name. The newest
``KEEP`` matrices are kept.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import os
import sys
from dataclasses import fields, is_dataclass
from pathlib import Path

import numpy as np

_SUFFIXES = (".py", ".toml", ".json", ".csv")
KEEP = 16
"""Throughput matrices kept (the newest; each a few kB)."""


@functools.lru_cache(maxsize=1)
def _package_digest() -> bytes:
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.suffix in _SUFFIXES and p.is_file()):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.digest()


def _frozen(obj: object) -> object:
    """A value whose repr differs for any two different inputs (TypeError for a type not handled)."""
    if is_dataclass(obj) and not isinstance(obj, type):
        return (type(obj).__qualname__, tuple((f.name, _frozen(getattr(obj, f.name))) for f in fields(obj)))
    if isinstance(obj, dict):
        return ("dict", tuple((_frozen(k), _frozen(v)) for k, v in obj.items()))
    if isinstance(obj, list | tuple):
        return (type(obj).__name__, tuple(_frozen(v) for v in obj))
    if isinstance(obj, np.ndarray):
        return ("array", obj.dtype.str, obj.shape, hashlib.sha256(np.ascontiguousarray(obj).tobytes()).hexdigest())
    if isinstance(obj, enum.Enum):
        return ("enum", type(obj).__qualname__, obj.name)
    if obj is None or isinstance(obj, bool | int | float | str | np.generic):
        return (type(obj).__name__, repr(obj))
    raise TypeError(f"not keyed: {type(obj).__name__}")


def entry(classes: dict, systems: dict, counts: np.ndarray) -> Path | None:
    """Where the matrix of these inputs is kept (None: not cached)."""
    from flopwatt.catalog import OVERLAY_ENV, overlay_paths
    from flopwatt.fleet.trace_cache import entry_for

    if os.environ.get(OVERLAY_ENV) or overlay_paths():  # a user catalog: not cached
        return None
    try:
        inputs = repr((_frozen(classes), _frozen(systems), _frozen(np.asarray(counts, dtype=np.int64))))
    except TypeError:
        return None
    return entry_for("throughput", sys.version.encode() + b"\0" + _package_digest() + inputs.encode())
