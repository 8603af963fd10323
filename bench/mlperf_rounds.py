"""MLPerf llama2-70b across submission rounds: the same hardware, newer engines, one serving model.

The validation rows (``shared/reference/visible.csv``, kind ``infer``) are NVIDIA's v4.0 and v4.1
results; ``bench/data/mlperf_inference_v5.csv`` holds the v5.0 results of the same 8-GPU H100 and
H200 systems, which the validation never reads. Each row goes through the same path as
``flopwatt validate --kind infer``; the table prints the signed error per row and per round, so the
spread that software alone adds between rounds sits next to the model's error.
Run: ``python bench/mlperf_rounds.py [--visible PATH]``.
"""

from __future__ import annotations

import argparse
import re
import statistics
from collections import defaultdict
from pathlib import Path

from flopwatt.validate import read_rows, validate

HELD_OUT = Path(__file__).with_name("data") / "mlperf_inference_v5.csv"
VISIBLE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "visible.csv"


def _round(source: str) -> str:
    found = re.search(r"MLPerf Inference (v\d\.\d)", source)
    return found[1] if found else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visible", type=Path, default=VISIBLE)
    args = parser.parse_args()
    rows = [r for r in read_rows(args.visible) if r["id"].startswith("MLPI")] + read_rows(HELD_OUT)
    by_id = {r["id"]: r for r in rows}
    report = validate(rows, kind="infer")
    errors: dict[str, list[float]] = defaultdict(list)
    print(f"{'id':10} {'round':5} {'accelerator':16} {'scenario':8} {'measured':>9} {'predicted':>9} error")
    for res in report["rows"]:
        row = by_id[res["id"]]
        rnd, err = _round(row["source"]), res["predicted"] / res["measured"] - 1.0
        errors[rnd].append(err)
        print(f"{res['id']:10} {rnd:5} {row['accelerator']:16} {row['scenario']:8} {res['measured']:9.0f} "
              f"{res['predicted']:9.0f} {100 * err:+6.1f}%")
    for rnd, errs in sorted(errors.items()):
        print(f"{rnd}: median signed error {100 * statistics.median(errs):+.1f}% over {len(errs)} rows")


if __name__ == "__main__":
    main()
