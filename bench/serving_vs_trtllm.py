"""Serving model against TensorRT-LLM's published throughput tables (a set the validation never uses).

Reads bench/data/trtllm_perf_overview.csv (NVIDIA's perf overview: trtllm-bench at an infinite request
rate, fixed input/output lengths, TP as published) and prints, row by row, the measured output tokens/s
of the TP group, what ``flopwatt serve`` predicts at the same TP, and their ratio, then the median ratio
per accelerator. Run: ``python bench/serving_vs_trtllm.py [--model llama3.1-70b]``.
"""

from __future__ import annotations

import argparse
import csv
import statistics
from collections import defaultdict
from pathlib import Path

from flopwatt import catalog
from flopwatt.errors import InputError
from flopwatt.serve import ServeRequest, estimate_serving

DATA = Path(__file__).with_name("data") / "trtllm_perf_overview.csv"


def predict(row: dict[str, str]) -> float | None:
    tp = int(row["tp"])
    req = ServeRequest(model=catalog.get("models", row["model"]), system=catalog.system_for(row["accelerator"]),
                       devices=tp, tp=tp, input_len=float(row["input_len"]), output_len=float(row["output_len"]),
                       precision=row["precision"])
    try:
        return estimate_serving(req)["metrics"]["output_tokens_per_s"]
    except InputError:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="only rows of this catalog model")
    args = parser.parse_args()
    ratios: dict[str, list[float]] = defaultdict(list)
    print(f"{'model':14} {'accelerator':16} {'tp':>2} {'prec':4} {'in/out':>11} {'measured':>9} {'predicted':>9} ratio")
    for row in csv.DictReader(DATA.open()):
        if args.model and row["model"] != args.model:
            continue
        measured, predicted = float(row["output_tokens_per_s"]), predict(row)
        ratio = predicted / measured if predicted else float("nan")
        if predicted:
            ratios[row["accelerator"]].append(ratio)
        print(f"{row['model']:14} {row['accelerator']:16} {row['tp']:>2} {row['precision']:4} "
              f"{row['input_len'] + '/' + row['output_len']:>11} {measured:9.0f} "
              f"{predicted or float('nan'):9.0f} {ratio:5.2f}")
    for acc, r in ratios.items():
        print(f"{acc}: median predicted/measured {statistics.median(r):.2f} over {len(r)} rows "
              f"(min {min(r):.2f}, max {max(r):.2f})")
    errors = [abs(x - 1.0) for r in ratios.values() for x in r]
    if errors:
        print(f"all: median |error| {100 * statistics.median(errors):.2f}% over {len(errors)} rows (in-sample: "
              "[gemm_call] roofline_norm and the Blackwell fp4 ratio are fitted on this table)")


if __name__ == "__main__":
    main()
