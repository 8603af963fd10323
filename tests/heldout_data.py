"""Reading the serving hold-out CSVs for their data tests (no flopwatt prediction is made on them)."""

from __future__ import annotations

import csv
from pathlib import Path

from flopwatt import validate as val
from flopwatt.validate.rows import publishes_run_inputs

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


def check_run_inputs(row: dict[str, str]) -> None:
    """The run inputs validate needs (devices, mean output length) are published and in physical ranges, the
    published plan uses exactly the row's devices, and only server rows carry latency limits."""
    assert publishes_run_inputs(row), row["id"]
    n, tp, pp, dp = (int(row[k]) for k in ("n_devices", "tp", "pp", "dp"))
    assert n >= 1 and n == tp * pp * dp, row["id"]
    assert 1.0 <= float(row["output_len"]) <= 32768, row["id"]
    if row["input_len"]:
        assert 1.0 <= float(row["input_len"]) <= 131072, row["id"]
    assert row["precision"] in {"fp4", "fp8", "bf16", "fp16"}, row["id"]
    if row["scenario"] != "server":
        assert not row["ttft_p99_s"] and not row["tpot_p99_s"], row["id"]
