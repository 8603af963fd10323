"""Writing every feasible configuration: one part file per work item (a Parquet dataset directory).

Each worker writes its own part, so nothing large crosses process boundaries and memory stays
bounded by one chunk. Parquet needs pyarrow (``pip install 'flopwatt[plan]'``, imported only when a
part is written); CSV and JSON lines use the standard library.

Data safety: a part is written under a hidden temporary name and renamed into place (``os.replace``),
so every ``part-*`` file is whole. The directory holds ``_INCOMPLETE`` while a search runs;
``_manifest.json`` (parts, rows, configurations, config hash, ``completed: true``) is written last,
then the marker removed. A directory with parts but no manifest is an interrupted run. Readers of a
Parquet dataset skip names starting with ``_`` or ``.``, so the markers and temporary files stay out of it.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from flopwatt.errors import InputError
from flopwatt.perf.plans import RECOMPUTE

FORMATS = ("parquet", "csv", "json")
GROUP_COLUMNS = ("system", "devices", "stack", "fabric", "media", "oversubscription", "precision", "global_batch")
MANIFEST = "_manifest.json"
INCOMPLETE = "_INCOMPLETE"
SUFFIXES = {"parquet": ".parquet", "csv": ".csv", "json": ".jsonl"}


def part_name(item: int, fmt: str) -> str:
    """File name of work item ``item``'s part."""
    return f"part-{item:06d}{SUFFIXES[fmt]}"


def require_format(fmt: str) -> None:
    """Fail before any work when the format cannot be written (pyarrow is looked up, not imported)."""
    if fmt not in FORMATS:
        raise InputError("--format", f"one of {', '.join(FORMATS)}", fmt)
    if fmt == "parquet" and importlib.util.find_spec("pyarrow") is None:
        raise InputError("--format", "", message="parquet needs pyarrow: pip install 'flopwatt[plan]' "
                         "(or --format csv|json)")


def _ours(path: Path) -> bool:
    """Files a plan search writes: parts, their temporary names, the manifest and the marker."""
    name = path.name
    return name in (MANIFEST, INCOMPLETE) or (name.startswith((".part-", f".{MANIFEST}")) and name.endswith(".tmp")) \
        or (name.startswith("part-") and path.suffix in SUFFIXES.values())


def check_out_dir(out_dir: Path, overwrite: bool) -> None:
    """No side effects: ``out_dir`` must be new or empty, or ``overwrite`` given."""
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError("--out", "a directory", str(out_dir))
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise InputError("--out", "", message=f"{out_dir} is not empty; choose a new directory or pass --overwrite")


def open_out_dir(out_dir: Path, overwrite: bool) -> None:
    """Create ``out_dir`` (or, with ``overwrite``, delete the plan files in it: other files stay) and mark it
    incomplete until :func:`write_manifest`."""
    check_out_dir(out_dir, overwrite)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for path in out_dir.iterdir():
            if _ours(path):
                path.unlink()
        (out_dir / INCOMPLETE).write_text("a flopwatt plan search is writing here, or was interrupted: parts "
                                          f"without {MANIFEST} are not a complete result\n", encoding="utf-8")
    except OSError as exc:
        raise InputError("--out", f"a writable directory ({exc.strerror})", str(out_dir)) from exc


def remove_temporary(out_dir: Path) -> None:
    """After an interrupted search: drop half-written temporary files (the marker stays)."""
    for path in out_dir.glob(".*.tmp"):
        if _ours(path):
            path.unlink(missing_ok=True)


def write_manifest(out_dir: Path, manifest: dict[str, Any]) -> None:
    """Write ``_manifest.json`` atomically, then remove the ``_INCOMPLETE`` marker."""
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    atomic_write(out_dir / MANIFEST, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    (out_dir / INCOMPLETE).unlink(missing_ok=True)


def atomic_write(path: Path, write: Callable[[Path], Any]) -> None:
    """``write(tmp)`` a hidden temporary file beside ``path``, then rename it onto ``path`` (``os.replace``)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@dataclass(frozen=True, slots=True)
class PartWriter:
    out_dir: Path
    fmt: str
    item: int
    sites: tuple[str, ...] = ()
    cooling: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.fmt not in FORMATS:
            raise InputError("--format", f"one of {', '.join(FORMATS)}", self.fmt)

    @property
    def path(self) -> Path:
        return self.out_dir / part_name(self.item, self.fmt)

    def __call__(self, group: Any, table: dict[str, np.ndarray]) -> None:
        n = len(table["wall_s"])
        constants = {c: getattr(group, c) if getattr(group, c) is not None else "default" for c in GROUP_COLUMNS}
        names = {"site": self.sites, "cooling": self.cooling}
        if self.fmt == "parquet":
            atomic_write(self.path, lambda tmp: self._parquet(tmp, constants, table, n, names))
        else:
            atomic_write(self.path, lambda tmp: self._text(tmp, constants, table, n, names, self.fmt == "csv"))

    @staticmethod
    def _parquet(path: Path, constants: dict[str, Any], table: dict[str, np.ndarray], n: int,
                 names: dict[str, tuple[str, ...]]) -> None:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise InputError("--format", "pyarrow installed for Parquet (pip install 'flopwatt[plan]'), or csv",
                             "parquet") from exc
        columns = {k: pa.DictionaryArray.from_arrays(np.zeros(n, dtype=np.int32), [v]) if isinstance(v, str)
                   else pa.array(np.full(n, v)) for k, v in constants.items()}
        for k, v in table.items():
            if k == "recompute":
                columns[k] = pa.DictionaryArray.from_arrays(v.astype(np.int32), list(RECOMPUTE))
            elif k in names:
                columns[k] = pa.DictionaryArray.from_arrays(v.astype(np.int32), list(names[k]))
            else:
                columns[k] = pa.array(v)
        pq.write_table(pa.table(columns), path)

    @staticmethod
    def _text(path: Path, constants: dict[str, Any], table: dict[str, np.ndarray], n: int,
              names: dict[str, tuple[str, ...]], as_csv: bool) -> None:
        keys = list(constants) + list(table)
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle) if as_csv else None
            if writer:
                writer.writerow(keys)
            for i in range(n):
                values = list(constants.values()) + [
                    RECOMPUTE[int(v[i])] if k == "recompute" else names[k][int(v[i])] if k in names
                    else v[i].item() for k, v in table.items()]
                if writer:
                    writer.writerow(values)
                else:
                    handle.write(json.dumps(dict(zip(keys, values, strict=True))) + "\n")
