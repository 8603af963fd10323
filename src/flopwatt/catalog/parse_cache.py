"""A cache of the built-in catalog files as parsed, keyed by the SHA-256 of each file's text.

Parsing 13 TOML files took about 37 ms of every command; a warm cache reads JSON instead and never imports
the TOML parser. User catalogs (overlays) are never cached. :func:`cached_json` keeps other derived data the
same way (the CLI's request specs, :mod:`flopwatt.api.request_spec`).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

try:  # CPython's built-in SHA-256 (3.11: _sha256, 3.12+: _sha2): the same digest without loading OpenSSL (hashlib,
    from _sha256 import sha256  # 3-7 ms of every start)
except ImportError:  # pragma: no cover - another interpreter or version
    try:
        from _sha2 import sha256
    except ImportError:
        from hashlib import sha256


def parse_toml(text: str) -> dict[str, Any]:
    """``tomllib.loads``, imported only when a file is parsed (a warm cache parses none)."""
    import tomllib

    return tomllib.loads(text)


CACHE_ENV = "FLOPWATT_CACHE_DIR"
"""Environment variable: directory of the parsed-catalog cache (default ``$XDG_CACHE_HOME/flopwatt``, else
``~/.cache/flopwatt``); set but empty turns the cache off."""
_CACHE_FORMAT = "1"


def cache_dir() -> Path | None:
    """Where parsed built-in catalog files are kept (None: no cache)."""
    value = os.environ.get(CACHE_ENV)
    if value is not None:
        return Path(value) if value else None
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if os.path.isabs(xdg):  # the XDG spec ignores a relative path
        return Path(xdg) / "flopwatt"
    try:
        return Path.home() / ".cache" / "flopwatt"
    except RuntimeError:  # no home directory to be found: no cache
        return None


def parse_cached(name: str, text: str) -> dict[str, Any]:
    """``tomllib.loads(text)`` of the built-in catalog file ``name``, kept as JSON in :func:`cache_dir`.

    The entry is named by the SHA-256 of the text itself (with the Python version and the cache format), so
    an edited file has another name and an entry of an older text is never read: no modification time is
    trusted. An entry is written atomically (a temporary file renamed into place) and holds its digest,
    checked on reading; one that cannot be read or does not match is parsed again. A cache that cannot be
    written (read-only, missing, a file in the way) only costs the parse. Only values JSON keeps exactly
    (str, int, float, bool, lists, tables; no dates, no nan) are stored. User catalogs are not cached.
    """
    return cached_json(f"catalog-{name}", text, lambda: parse_toml(text))


def cached_json(name: str, key: str, build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``build()``, kept as JSON in :func:`cache_dir` under ``name`` and the SHA-256 of ``key`` (with the Python
    version and the cache format): the text ``build`` is a function of, so a changed key never reads an entry
    of the old one. Entries are checked, written and dropped as :func:`parse_cached` says."""
    folder = cache_dir()
    if folder is None:
        return build()
    digest = sha256(f"{_CACHE_FORMAT}\0{sys.version}\0{key}".encode()).hexdigest()
    prefix = f"{name}-{sha256(str(Path(__file__).parent).encode()).hexdigest()[:12]}-"
    entry = folder / f"{prefix}{digest}.json"
    try:
        cached = json.loads(entry.read_text(encoding="utf-8"))
        if isinstance(cached, dict) and cached.get("sha256") == digest and isinstance(cached.get("data"), dict):
            return cached["data"]
    except (OSError, ValueError):
        pass
    data = build()
    _store(entry, {"sha256": digest, "data": data}, prefix)
    return data


def _store(entry: Path, payload: dict[str, Any], prefix: str) -> None:
    """Write ``payload`` to ``entry`` atomically and drop the older entries of the same file; on any failure
    (unwritable, a value JSON does not keep exactly) write nothing. ``prefix`` names this file of this
    installation, so installations sharing the cache directory do not drop each other's entries."""
    try:
        text = json.dumps(payload, allow_nan=False)
        if json.loads(text) != payload:  # e.g. a type JSON would change: do not store
            return
        write_atomically(entry, lambda out: out.write(text.encode("utf-8")))
        for old in entry.parent.glob(f"{prefix}*.json"):
            if old != entry:
                old.unlink(missing_ok=True)
    except (OSError, TypeError, ValueError):
        return


def write_atomically(entry: Path, write: Callable[[Any], None]) -> None:
    """Create ``entry`` (and its folder) from ``write(binary file)`` under a temporary name, then rename it into
    place, so a reader never sees half a file; the temporary file is removed if anything fails (then re-raised)."""
    import tempfile  # only when an entry is written

    entry.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=entry.parent, prefix=entry.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            write(out)
        os.replace(tmp, entry)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
