"""The seventh serving hold-out with its stated loads written into ``micro_batch``: how far the typed load column
moves its predictions. Not a hold-out figure: the file was evaluated once (validation/SPLIT_infer.md) before
``micro_batch`` was read on serving rows.

bench/data/heldout7_loads.csv gives, per row, the load its notes state (a person read them: ``--max-concurrency``
of a closed-loop run, or ``--num-prompts`` all submitted at once at fixed lengths); validate itself never reads
notes. Prints measured / predicted per row with and without the load, and the median APE of each.

Run: ``python bench/heldout7_with_loads.py``.
"""

from __future__ import annotations

import csv
import statistics
from pathlib import Path

from flopwatt.validate import read_rows, validate

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    rows = read_rows(ROOT / "validation" / "infer_heldout7.csv")
    with (ROOT / "bench" / "data" / "heldout7_loads.csv").open(newline="") as fh:
        loads = {r["heldout7_row"]: r["micro_batch"] for r in csv.DictReader(fh)}
    full = {r["id"]: r for r in validate(rows)["rows"]}
    held = {r["id"]: r for r in validate([{**r, "micro_batch": loads.get(r["id"], "")} for r in rows])["rows"]}
    print(f"{'id':12s} {'load':>5s} {'meas/pred full':>14s} {'meas/pred load':>14s}")
    for rid, r in full.items():
        h = held[rid]
        print(f"{rid:12s} {loads.get(rid, '-'):>5s} {r['measured'] / r['predicted']:14.2f} "
              f"{h['measured'] / h['predicted']:14.2f}")
    for name, res in (("full load (as evaluated)", full), ("stated load in micro_batch", held)):
        apes = [r["ape"] for r in res.values()]
        loaded = [res[i]["ape"] for i in loads]
        print(f"{name:28s} median APE {statistics.median(apes):6.1%} over {len(apes)}; "
              f"rows with a stated load {statistics.median(loaded):6.1%} over {len(loaded)}")


if __name__ == "__main__":
    main()
