"""A cache of parsed trace files, keyed by the SHA-256 of the file's bytes (issue 22).

Parsing the Philly trace (82,247 rows: a regex and a datetime per row) took about 0.35 s of every
``flopwatt fleet`` run; a warm entry is one ``np.load``. The entry is named by the digest of the file's
bytes together with the loader's kind, this cache's format, the numpy version and the text of the
parsing module (:mod:`flopwatt.fleet.traces`), so an edited trace or parser has another name and an
entry of older bytes is never read (no modification time is trusted). It lives in the catalog's cache
directory (:func:`flopwatt.catalog.parse_cache.cache_dir`: ``FLOPWATT_CACHE_DIR``, set but empty turns
it off). Arrays are stored raw (``.npz``, no pickle), so a warm load gives the same values bit for bit;
a file that fails to parse is never stored, and an entry that cannot be read is parsed again. Entries
are written atomically; older entries of the same file path are dropped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from flopwatt.catalog.parse_cache import cache_dir, write_atomically

_FORMAT = "1"


def _parser_digest() -> bytes:
    return hashlib.sha256(Path(__file__).with_name("traces.py").read_bytes()).digest()


def _entry(path: str | Path, kind: str) -> Path | None:
    """Where the parsed ``path`` would be kept (None: no cache, or the file cannot be read here)."""
    folder = cache_dir()
    if folder is None:
        return None
    try:
        data = Path(path).read_bytes()
    except OSError:  # the loader reports it
        return None
    digest = hashlib.sha256(f"{_FORMAT}\0{kind}\0{np.__version__}\0".encode())
    digest.update(_parser_digest())
    digest.update(data)
    where = hashlib.sha256(str(Path(path).resolve()).encode()).hexdigest()[:12]
    return folder / f"trace-{kind}-{where}-{digest.hexdigest()}.npz"


def cached(path: str | Path, kind: str, parse: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The arrays ``parse()`` gives for the file ``path`` (a loader of ``kind``), from the cache when warm."""
    return cached_at(_entry(path, kind), parse)  # one entry per file path


def entry_for(kind: str, key: bytes) -> Path | None:
    """Where arrays computed from inputs whose digest is ``key`` are kept (None: no cache directory)."""
    folder = cache_dir()
    if folder is None:
        return None
    digest = hashlib.sha256(f"{_FORMAT}\0{kind}\0{np.__version__}\0".encode() + key).hexdigest()
    return folder / f"{kind}-all-{digest}.npz"


def cached_at(entry: Path | None, compute: Callable[[], dict[str, np.ndarray]], keep: int = 1) -> dict[str, np.ndarray]:
    """The arrays kept in ``entry`` if it can be read, else ``compute()`` (then kept there; None: not kept),
    with at most ``keep`` entries of the same prefix (the newest)."""
    if entry is not None:
        try:
            with np.load(entry, allow_pickle=False) as stored:
                return {name: stored[name] for name in stored.files}
        except (OSError, ValueError, KeyError, EOFError):
            pass
    arrays = compute()
    if entry is not None:
        _store(entry, arrays, keep)
    return arrays


def _store(entry: Path, arrays: dict[str, np.ndarray], keep: int) -> None:
    """Write ``arrays`` to ``entry`` atomically, keep the newest ``keep`` entries of its prefix (the same trace
    path, or every throughput matrix); on failure, nothing."""
    try:
        write_atomically(entry, lambda out: np.savez(out, **arrays))
        prefix = entry.name.rsplit("-", 1)[0] + "-"
        others = sorted((p for p in entry.parent.glob(f"{prefix}*.npz") if p != entry),
                        key=lambda p: p.stat().st_mtime, reverse=True)
        for old in others[keep - 1:]:
            old.unlink(missing_ok=True)
    except (OSError, ValueError):
        return
