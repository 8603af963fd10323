"""Serving model against AMD's published vLLM latency table on 8 MI300X (a table no validation or fit reads).

Reads bench/data/amd_vllm_latency.csv (ROCm/vllm docs/dev-docker/README.md 'Latency Measurements': vLLM
benchmark_latency.py, one batch of B prompts of fixed lengths, Llama 3.1 70B / 405B FP8 at tp 8, end-to-end seconds)
and prints, row by row, the measured batch latency, the model's (the first token's TTFT plus ``output - 1`` cycles at
the batch held at B, serve's default engine profile) and their ratio, then the median ratio per model.
Run: ``python bench/amd_vllm_latency.py``.
"""

from __future__ import annotations

import csv
import statistics
from collections import defaultdict
from pathlib import Path

from flopwatt import catalog
from flopwatt.catalog import engine_profiles
from flopwatt.serve import ServeRequest, estimate_serving

DATA = Path(__file__).resolve().parent / "data" / "amd_vllm_latency.csv"
ACCELERATOR = "mi300x"
DEVICES = 8


def predicted_latency_s(row: dict[str, str]) -> float:
    """TTFT + (output - 1) cycles of one batch of ``batch`` prompts on 8 MI300X at the row's tp."""
    system = catalog.system_for(ACCELERATOR)
    tp, batch = int(row["tp"]), int(row["batch"])
    engine = engine_profiles.settings(engine_profiles.get(engine_profiles.DEFAULT_ENGINE), tp=tp,
                                      accelerator=system.accelerator)
    req = ServeRequest(model=catalog.get("models", row["model"]), system=system, devices=DEVICES,
                       input_len=float(row["input_tokens"]), output_len=float(row["output_tokens"]),
                       precision=row["precision"], max_replica_batch=batch, **engine.knobs())
    metrics = estimate_serving(req)["metrics"]
    return metrics["ttft_s"] + (float(row["output_tokens"]) - 1.0) * metrics["tpot_s"]


def main() -> None:
    ratios = defaultdict(list)
    print(f"{'id':<11} {'model':<14} {'batch':>5} {'in/out':>10} {'measured s':>10} {'model s':>8} {'ratio':>6}")
    with DATA.open(newline="") as f:
        for row in csv.DictReader(f):
            predicted = predicted_latency_s(row)
            ratio = predicted / float(row["latency_s"])
            ratios[row["model"]].append(ratio)
            print(f"{row['id']:<11} {row['model']:<14} {row['batch']:>5} "
                  f"{row['input_tokens'] + '/' + row['output_tokens']:>10} {float(row['latency_s']):>10.2f} "
                  f"{predicted:>8.2f} {ratio:>6.2f}")
    for model, values in ratios.items():
        print(f"{model}: median model/measured {statistics.median(values):.3f} over {len(values)} rows "
              f"(min {min(values):.2f}, max {max(values):.2f})")


if __name__ == "__main__":
    main()
