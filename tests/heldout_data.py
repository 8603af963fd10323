"""Reading the serving hold-out CSVs for their data tests (no flopwatt prediction is made on them)."""

from __future__ import annotations

import csv
from pathlib import Path

from flopwatt import validate as val

ROOT = Path(__file__).resolve().parent.parent
FIRST = ROOT / "validation" / "infer_heldout.csv"


def read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """A CSV's header and rows."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def rows(path: Path) -> list[dict[str, str]]:
    """The rows of a hold-out file whose header is the validation schema, as the first hold-out's."""
    header, found = read(path)
    assert header == read(FIRST)[0] == list(val.SCHEMA)
    return found


def others(path: Path) -> dict[str, list[dict[str, str]]]:
    """Rows of every other validation or benchmark data file that has an ``id`` column, by file name."""
    out = {}
    for other in sorted([*ROOT.glob("validation/*.csv"), *ROOT.glob("bench/data/*.csv")]):
        if other == path:
            continue
        header, found = read(other)
        if "id" in header:
            out[other.name] = found
    return out
