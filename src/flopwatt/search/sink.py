"""Writing every feasible configuration: one part file per work item (a Parquet dataset directory).

Each worker writes its own part, so nothing large crosses process boundaries and memory stays
bounded by one chunk. Parquet needs pyarrow (``pip install 'flopwatt[plan]'``); CSV and JSON lines
use the standard library.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from flopwatt.errors import InputError
from flopwatt.perf.plans import RECOMPUTE

FORMATS = ("parquet", "csv", "json")
GROUP_COLUMNS = ("system", "devices", "stack", "fabric", "media", "oversubscription", "precision", "global_batch")


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

    def __call__(self, group: Any, table: dict[str, np.ndarray]) -> None:
        n = len(table["wall_s"])
        constants = {c: getattr(group, c) if getattr(group, c) is not None else "default" for c in GROUP_COLUMNS}
        path = self.out_dir / f"part-{self.item:06d}.{ 'jsonl' if self.fmt == 'json' else self.fmt}"
        names = {"site": self.sites, "cooling": self.cooling}
        if self.fmt == "parquet":
            self._parquet(path, constants, table, n, names)
        else:
            self._text(path, constants, table, n, names)

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
              names: dict[str, tuple[str, ...]]) -> None:
        keys = list(constants) + list(table)
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle) if path.suffix == ".csv" else None
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
